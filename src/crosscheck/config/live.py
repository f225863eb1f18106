"""The configuration a running crosscheck uses, replaced only by one that checks clean.

A reload is asked for by SIGHUP or noticed by watching the files. When the new
configuration has errors, they are logged and the running one stays: a typo in
a YAML file never stops a CI that was working.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from crosscheck.config.files import discover
from crosscheck.config.issues import IssueList
from crosscheck.config.loader import LoadResult, load_config
from crosscheck.errors import ConfigInvalidError
from crosscheck.model.config import Config

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


class LiveConfig:
    """Holds the current configuration and swaps in new ones that check clean."""

    def __init__(
        self, paths: Sequence[Path], on_change: Callable[[Config], None] = lambda _: None
    ) -> None:
        self.paths = list(paths)
        self.on_change = on_change
        result = load_config(self.paths)
        if result.config is None:
            raise ConfigInvalidError(result.errors)
        self.current: Config = result.config
        self._fingerprint = self.fingerprint()
        self.reloads = 0  # how many new configurations were applied

    def reload(self) -> LoadResult:
        """Load the files again; apply the result only when it has no error."""
        result = load_config(self.paths)
        if result.config is None:
            for issue in result.errors:
                log.error("configuration: %s", issue)
            log.error("configuration has %d error(s); keeping the one in use", len(result.errors))
            return result
        for issue in result.warnings:
            log.warning("configuration: %s", issue)
        self.current = result.config
        self.reloads += 1
        log.info(
            "configuration reloaded: %d job(s), %d project(s)",
            len(result.config.jobs),
            len(result.config.projects),
        )
        self.on_change(result.config)
        return result

    def fingerprint(self) -> Fingerprint:
        """What changes when a file is edited, added or removed."""
        entries = []
        for path in discover(self.paths, IssueList()):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(entries)

    def reload_if_changed(self) -> LoadResult | None:
        current = self.fingerprint()
        if current == self._fingerprint:
            return None
        self._fingerprint = current
        return self.reload()

    async def watch(self, interval: float = 2.0) -> None:
        """Reload whenever the files change, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()

    def reload_on_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the configuration")
        self._fingerprint = self.fingerprint()
        self.reload()
