"""The console log: every line timestamped, secrets masked before anything sees it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from crosscheck.executor.nodes import LineSink

MASK = "*****"

log = logging.getLogger(__name__)


class Masker:
    """Replaces each configured secret value with `*****`, the longest first."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # A secret spread over lines is masked line by line: the console is cut at newlines.
        parts = {part for secret in secrets for part in secret.splitlines() if part}
        ordered = sorted(parts, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


def timestamp(moment: float) -> str:
    """UTC to the millisecond: `2026-11-23 09:05:35.123`."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class ConsoleLog:
    """Writes `console.log` line by line (flushed, so it can be followed live)."""

    def __init__(
        self,
        path: Path,
        masker: Masker,
        listeners: Sequence[LineSink] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._mask = masker
        self._listeners = listeners
        self._clock = clock
        self._file = path.open("w", encoding="utf-8", buffering=1)
        #: Why the file stopped taking lines (a full disk), if it did: the build goes
        #: on (its output is still read, or it would block on a full pipe), and ends
        #: as an infrastructure error, its log being lost.
        self.failure: OSError | None = None

    def __enter__(self) -> ConsoleLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def line(self, text: str) -> None:
        """One line of output; the only way text reaches the file or a listener."""
        entry = f"{timestamp(self._clock())} | {self._mask(text)}"
        if self.failure is None:
            try:
                self._file.write(entry + "\n")
            except OSError as error:
                self._failed(error)
        for listener in self._listeners:
            listener(entry)

    def _failed(self, error: OSError) -> None:
        self.failure = error
        log.error(
            "console log %s: cannot write it (%s): later lines are lost; the build ends "
            "as an infrastructure error",
            self.path,
            error.strerror or error,
        )

    def lines(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.line(text)

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError as error:  # what was buffered could not be written
                if self.failure is None:
                    self._failed(error)
