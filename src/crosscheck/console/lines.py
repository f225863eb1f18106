"""One console line for display: the executor's timestamp apart, the build's text as HTML.

The page and the event stream render a line through the same function, so a line
streamed into an open page looks exactly as it will after a reload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup

from crosscheck.console.ansi import to_html
from crosscheck.console.follow import Line

#: `2026-11-23 09:05:35.123 | ` (executor/console.py) before each line.
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) \| ")


@dataclass(frozen=True)
class ShownLine:
    number: int
    #: The time of day the line was written (UTC), or "" for a line without a stamp.
    time: str
    #: The whole timestamp, for a tooltip.
    stamp: str
    html: Markup

    def event(self) -> dict[str, object]:
        """What an event carries: the HTML is escaped already (ansi.py)."""
        return {"n": self.number, "time": self.time, "stamp": self.stamp, "html": str(self.html)}


def split_stamp(text: str) -> tuple[str, str, str]:
    """(date, time, the build's text); empty date and time when the line has no stamp."""
    found = _STAMP.match(text)
    if found is None:
        return "", "", text
    return found[1], found[2], text[found.end() :]


def shown(line: Line) -> ShownLine:
    date, time, text = split_stamp(line.text)
    stamp = f"{date} {time} UTC" if date else ""
    return ShownLine(line.number, time, stamp, to_html(text))
