"""Plain data (mappings, lists, texts, numbers, booleans, null) written as block YAML.

`config show` prints thousands of jobs; PyYAML's representer, even in front of libyaml's
emitter, spends a second on them. This writer gives the same layout as `yaml.safe_dump`
with `sort_keys=False` (block style, lists in a mapping not indented, `{}` and `[]` for
empty ones) and reads back to the same data with PyYAML's loaders. A text is written
plain when PyYAML would read it back as that text, else single-quoted, else (line breaks,
characters that are not printable) double-quoted with escapes; long texts are not folded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import yaml

#: Characters that may not start a plain scalar.
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
#: Characters that may not start a plain scalar when a space (or nothing) follows them.
_SPACED_INDICATORS = frozenset("-?:")
#: The longest key PyYAML's reader accepts as a simple key is 1024 characters.
_LONGEST_KEY = 1000
_STR_TAG = "tag:yaml.org,2002:str"


class Writer:
    """Writes values as YAML lines; remembers how each text is written, as texts repeat."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._resolver = yaml.resolver.Resolver()

    def items(self, items: Iterable[Any]) -> str:
        """`items` as the lines of a YAML list (`- ...` at column 0), or "" for none: lines
        written one after the other make one list, so a long one can be printed in parts.

        Raises UnsupportedError for what only PyYAML can write (a key over 1000 characters).
        """
        lines: list[str] = []
        self._sequence(list(items), "", "", lines)
        return "\n".join(lines) + "\n" if lines else ""

    def _block(self, value: Any, indent: str, first: str, lines: list[str]) -> None:
        if isinstance(value, dict):
            self._mapping(value, indent, first, lines)
        else:
            self._sequence(value, indent, first, lines)

    def _mapping(self, mapping: dict[Any, Any], indent: str, first: str, lines: list[str]) -> None:
        prefix = first
        for key, value in mapping.items():
            written = self._key(key)
            if _is_block(value):
                lines.append(f"{prefix}{written}:")
                # A list in a mapping starts at its key's column, as PyYAML writes it.
                inner = indent if isinstance(value, list) else indent + "  "
                self._block(value, inner, inner, lines)
            else:
                lines.append(f"{prefix}{written}: {self.scalar(value)}")
            prefix = indent

    def _sequence(self, items: list[Any], indent: str, first: str, lines: list[str]) -> None:
        prefix = first
        for item in items:
            if _is_block(item):
                self._block(item, indent + "  ", prefix + "- ", lines)
            else:
                lines.append(f"{prefix}- {self.scalar(item)}")
            prefix = indent

    def _key(self, key: Any) -> str:
        written = self.scalar(key)
        if len(written) > _LONGEST_KEY:
            raise UnsupportedError(f"a key too long for YAML's simple keys: {written[:40]}...")
        return written

    def scalar(self, value: Any) -> str:
        """One value on one line: a text, number, boolean, null, `{}` or `[]`."""
        if isinstance(value, str):
            written = self._texts.get(value)
            if written is None:
                written = self._texts[value] = self._text(value)
            return written
        return _other_scalar(value)

    def _text(self, text: str) -> str:
        if self._plain(text):
            return text
        if text.isprintable():
            return "'" + text.replace("'", "''") + "'"
        return _double_quoted(text)

    def _plain(self, text: str) -> bool:
        if not text or not text.isprintable() or text[0] == " " or text[-1] == " ":
            return False
        if text[0] in _INDICATORS:
            return False
        if text[0] in _SPACED_INDICATORS and (len(text) == 1 or text[1] == " "):
            return False
        if ": " in text or " #" in text or text.endswith(":"):
            return False
        # What PyYAML would read it as: `true`, `3.10`, `~` or `2024-01-01` are no texts.
        tag: str = self._resolver.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, text, (True, False)
        )
        return tag == _STR_TAG


class UnsupportedError(ValueError):
    """A value this writer leaves to PyYAML."""


def _other_scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    # Anything else (a date, say) as PyYAML writes it, or its error.
    dumped: str = yaml.safe_dump(value, default_flow_style=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    # YAML 1.1 reads 1e+17 as a text: PyYAML writes 1.0e+17.
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _double_quoted(text: str) -> str:
    return '"' + "".join(_escaped(character) for character in text) + '"'


def _escaped(character: str) -> str:
    known = _ESCAPES.get(character)
    if known is not None:
        return known
    if character.isprintable():
        return character
    code = ord(character)
    form = next(form for limit, form in _NUMERIC_ESCAPES if code <= limit)
    return form.format(code)


#: YAML's escapes by the size of the code point: \xXX, \uXXXX, \UXXXXXXXX.
_NUMERIC_ESCAPES = ((0xFF, "\\x{:02X}"), (0xFFFF, "\\u{:04X}"), (0x10FFFF, "\\U{:08X}"))
