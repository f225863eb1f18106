"""Durations as operators write them (`2h`, `1d12h`, `90m`), for the page and the CLI."""

from __future__ import annotations

UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def span(seconds: float) -> str:
    """86400 -> `1d`, 5400 -> `1h30m`, 0 -> `0s`: what `for` takes back."""
    left = max(0, round(seconds))
    parts: list[str] = []
    for unit, size in UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
