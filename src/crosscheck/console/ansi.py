"""A console line's ANSI colours as HTML, for a terminal, or gone.

Builds print what they like, and an attacker's change builds too: a line may carry
cursor moves, OSC titles or hyperlinks, device queries, sequences cut short, raw
control characters, and `<script>`. Only SGR survives (bold, italic, underline, the
8+8 foreground and background colours, resets); every other escape sequence and
every control character but the tab is dropped, so neither a page nor an operator's
terminal can be steered by a log. The HTML is escaped text in spans whose classes come
from a fixed set: nothing of the line ever reaches an attribute.

Each line stands alone: colours left on at its end do not carry over to the next one,
so a line renders the same whether the whole log or the stream from that line on is
read. A carriage return inside a line keeps what a terminal would show last: the text
after it (a progress bar's last state), unless nothing follows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup, escape

_SEQUENCES = re.compile(
    r"""
      \x1b\[ (?P<params>[0-?]*) (?P<inter>[\x20-/]*) (?P<final>[@-~])  # CSI, complete
    | \x1b\] .*? (?:\x07|\x1b\\|$)         # OSC (titles, links) to BEL or ST, or the end
    | \x1b[PX^_] .*? (?:\x1b\\|$)          # DCS, SOS, PM, APC to ST, or the end
    | \x1b\[ [0-?]* [\x20-/]* $            # CSI cut short by the end of the line
    | \x1b [\x20-/]* [0-~]?                # any other escape, or a lone ESC
    | (?P<cr>\r)
    """,
    re.VERBOSE | re.DOTALL,
)
#: C0 but the tab, DEL and C1 (whose 0x9b is an 8-bit CSI some terminals obey).
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Style:
    bold: bool = False
    italic: bool = False
    underline: bool = False
    #: 0-7 the normal colours, 8-15 the bright ones; None the page's own.
    fg: int | None = None
    bg: int | None = None

    def classes(self) -> str:
        names = [name for name in ("bold", "italic", "underline") if getattr(self, name)]
        if self.fg is not None:
            names.append(f"fg{self.fg}")
        if self.bg is not None:
            names.append(f"bg{self.bg}")
        return " ".join(names)


PLAIN = Style()
RESET = 0
COLOURS = 8

#: Each SGR code understood, and what it changes.
_CHANGES: dict[int, dict[str, Any]] = {
    1: {"bold": True},
    22: {"bold": False},
    3: {"italic": True},
    23: {"italic": False},
    4: {"underline": True},
    24: {"underline": False},
    39: {"fg": None},
    49: {"bg": None},
    **{30 + n: {"fg": n} for n in range(COLOURS)},
    **{90 + n: {"fg": COLOURS + n} for n in range(COLOURS)},
    **{40 + n: {"bg": n} for n in range(COLOURS)},
    **{100 + n: {"bg": COLOURS + n} for n in range(COLOURS)},
}
#: The code that sets each (field, value): a terminal gets the colours back from it.
_CODE_OF = {
    (field, value): code for code, change in _CHANGES.items() for field, value in change.items()
}
#: `38;5;n` or `38;2;r;g;b` (48 for the background, 58 the underline's colour): the
#: arguments are consumed, never read as codes of their own.
_EXTENDED = {38: "fg", 48: "bg", 58: None}
_INDEXED, _DIRECT = 5, 2
_DIRECT_ARGUMENTS = 3
#: Longer numbers are no SGR code; int() of thousands of digits would even raise.
_MAX_DIGITS = 3


def _codes(params: str) -> list[int | None]:
    """SGR parameters; None for one that is no number we know (`38:2:...`, `99999`)."""
    codes: list[int | None] = []
    for param in params.split(";") if params else [""]:
        first = param.split(":")[0]
        if ":" in param:
            codes.append(None)  # sub-parameters (an extended colour, curly underlines)
        elif first == "":
            codes.append(RESET)
        elif first.isdigit() and first.isascii() and len(first) <= _MAX_DIGITS:
            codes.append(int(first))
        else:
            codes.append(None)
    return codes


def apply_sgr(style: Style, params: str) -> Style:
    """`style` after one SGR sequence (`ESC [ params m`)."""
    codes = _codes(params)
    index = 0
    while index < len(codes):
        code = codes[index]
        index += 1
        if code == RESET:
            style = PLAIN
        elif code in _CHANGES:
            style = replace(style, **_CHANGES[code])
        elif code in _EXTENDED:
            style, index = _extended(style, _EXTENDED[code], codes, index)
    return style


def _extended(
    style: Style, field: str | None, codes: list[int | None], index: int
) -> tuple[Style, int]:
    """An extended colour: one of the 16 when a 256-colour index below 16 names it,
    left out otherwise; the index after its arguments."""
    kind = codes[index] if index < len(codes) else None
    if kind == _INDEXED:
        colour = codes[index + 1] if index + 1 < len(codes) else None
        if field is not None and colour is not None and colour < 2 * COLOURS:
            change: dict[str, Any] = {field: colour}
            style = replace(style, **change)
        return style, index + 2
    if kind == _DIRECT:
        return style, index + 1 + _DIRECT_ARGUMENTS
    return style, index + 1


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Sgr:
    params: str


class _Return:
    """A carriage return."""


_Token = _Text | _Sgr | _Return


def _tokens(line: str) -> Iterator[_Token]:
    position = 0
    for match in _SEQUENCES.finditer(line):
        if match.start() > position:
            yield _Text(line[position : match.start()])
        position = match.end()
        if match["cr"] is not None:
            yield _Return()
        elif match["final"] == "m" and not match["inter"]:
            yield _Sgr(match["params"])
    if position < len(line):
        yield _Text(line[position:])


def _runs(line: str) -> list[tuple[Style, str]]:
    """The line's visible text in runs of one style, controls gone, adjacent runs of
    the same style joined."""
    runs: list[tuple[Style, str]] = []
    style = PLAIN
    returned = False
    for token in _tokens(line):
        if isinstance(token, _Sgr):
            style = apply_sgr(style, token.params)
        elif isinstance(token, _Return):
            returned = True
        else:
            text = _CONTROLS.sub("", token.text)
            if not text:
                continue
            if returned:  # what follows a carriage return overwrites the line
                runs.clear()
                returned = False
            if runs and runs[-1][0] == style:
                runs[-1] = (style, runs[-1][1] + text)
            else:
                runs.append((style, text))
    return runs


def to_html(line: str) -> Markup:
    """The line as HTML: escaped text, styled runs in spans."""
    parts: list[str] = []
    for style, text in _runs(line):
        escaped = escape(text)
        classes = style.classes()
        parts.append(f'<span class="{classes}">{escaped}</span>' if classes else str(escaped))
    return Markup("".join(parts))  # noqa: S704 - the text is escaped, the tags are ours


def to_terminal(line: str) -> str:
    """The line for a terminal: its colours as SGR rebuilt from what was understood,
    nothing else of what it sent, and a reset at its end when it ends coloured."""
    parts: list[str] = []
    current = PLAIN
    for style, text in _runs(line):
        if style != current:
            parts.append(_sgr(style))
            current = style
        parts.append(text)
    if current != PLAIN:
        parts.append(_sgr(PLAIN))
    return "".join(parts)


def _sgr(style: Style) -> str:
    codes = [RESET]
    codes += [
        _CODE_OF[name, True] for name in ("bold", "italic", "underline") if getattr(style, name)
    ]
    if style.fg is not None:
        codes.append(_CODE_OF["fg", style.fg])
    if style.bg is not None:
        codes.append(_CODE_OF["bg", style.bg])
    return f"\x1b[{';'.join(map(str, codes))}m"


def plain(line: str) -> str:
    """The line's visible text only."""
    return "".join(text for _, text in _runs(line))
