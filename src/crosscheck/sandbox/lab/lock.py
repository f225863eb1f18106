"""One live lab per prefix: a lock held for the lab's life and released by the kernel
when its process dies, so whatever carries the prefix without a holder is a leftover."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_DIR = Path("/run/lock")


class PrefixLock:
    def __init__(self, prefix: str) -> None:
        self.path = LOCK_DIR / f"crosscheck-lab-{prefix}.lock"
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        """True when this lab now holds the prefix; False while another live lab does."""
        if self._file is not None:
            return True
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        # Never truncate on open: the holder's pid in the file is what the error names.
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            return False
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        # The file stays: unlinking a lock file lets two processes lock two inodes.
        if self._file is not None:
            self._file.close()
            self._file = None
