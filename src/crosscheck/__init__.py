"""crosscheck: third-party CI for Gerrit.

Test changes under review on hardware you own, report structured results back
without burying human reviewers, and promote what passed up to a release.
"""

from __future__ import annotations

from functools import cache

__all__ = ["__version__"]


@cache
def _installed_version() -> str:
    # importlib.metadata (and the email package it brings) costs every command tens of
    # milliseconds at start-up; only --version and the servers ask for the version.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("crosscheck")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
