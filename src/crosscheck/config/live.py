"""The configuration a running crosscheck uses, replaced only by one that checks clean.

A reload is asked for by SIGHUP or noticed by watching the files. When the new
configuration has errors, they are logged and the running one stays: a typo in
a YAML file never stops a CI that was working.

What serve built at start stays as it was: the connections (their event streams,
REST clients, webhook tokens), `executor` and `results`. A reload keeps those
elements of the start-time configuration in the one it serves, so every reader
sees the account the stream really runs as (the scheduler's own-account filter
compares against it: a new `user` applied there alone would let the CI's own
reports trigger builds, a vote storm). Only a connection's `ignore_own_events` and
`ignore_accounts` apply live. What a reload leaves for a restart is named in one
warning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from asyncinotify import Inotify, Mask

from crosscheck.config.files import discover
from crosscheck.config.issues import IssueList
from crosscheck.config.loader import LoadResult, load_config
from crosscheck.config.secrets import SecretError, all_readable
from crosscheck.errors import ConfigInvalidError
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection

log = logging.getLogger(__name__)

#: Seconds a burst of file notifications must be quiet before the files are read.
DEBOUNCE = 0.5
#: The longest a stream of notifications puts a reload off, in seconds.
LONGEST_QUIET = 5.0
#: What a directory's watch reports: a file written, replaced, added or removed.
WATCH_MASK = (
    Mask.CLOSE_WRITE
    | Mask.MOVED_TO
    | Mask.MOVED_FROM
    | Mask.CREATE
    | Mask.DELETE
    | Mask.ATTRIB
    | Mask.DELETE_SELF
    | Mask.MOVE_SELF
)

Fingerprint = tuple[tuple[str, bytes], ...]

#: The connection settings a reload applies: which accounts' events trigger nothing.
LIVE_CONNECTION_FIELDS = frozenset({"ignore_own_events", "ignore_accounts"})
#: The elements of the configuration serve reads once, at start.
START_ELEMENTS = ("executor", "results")


class LiveConfig:
    """Holds the current configuration and swaps in new ones that check clean."""

    def __init__(
        self, paths: Sequence[Path], on_change: Callable[[Config], None] = lambda _: None
    ) -> None:
        self.paths = list(paths)
        self.on_change = on_change
        result = load_config(self.paths)
        if result.config is None:
            raise ConfigInvalidError(result.errors, result.unchecked)
        # At start as on a reload: an operator who skipped `config check` still reads
        # that a comment pattern can never match, before wondering why.
        _log_warnings(result)
        self.current: Config = result.config
        #: What serve was built from: the elements a reload cannot apply come from it.
        self.start: Config = result.config
        self._fingerprint = self.fingerprint()
        self.reloads = 0  # how many new configurations were applied
        self._subscribers: list[Callable[[Config], None]] = []

    def subscribe(self, subscriber: Callable[[Config], None]) -> None:
        """Call `subscriber` with each configuration applied from now on: a part that
        sleeps until its next scheduled time wakes to read the new schedule."""
        self._subscribers.append(subscriber)

    def reload(self) -> LoadResult:
        """Load the files again; apply the result only when it has no error."""
        result = load_config(self.paths)
        if result.config is None:
            for issue in result.errors:
                log.error("configuration: %s", issue)
            if result.unchecked:
                log.error("configuration: %s", result.unchecked)
            log.error("configuration has %d error(s); keeping the one in use", len(result.errors))
            return result
        _log_warnings(result)
        served, needs_restart = keep_start_elements(self.start, result.config)
        try:  # as at start: a token file misnamed shows now, not at the first use
            all_readable(served)
            all_readable(result.config)  # what the next restart will read
        except SecretError as error:
            log.error(
                "configuration: %s; keeping the one in use (once it reads, save the "
                "configuration again or send SIGHUP)",
                error,
            )
            return dataclasses.replace(result, config=None)
        self.current = served
        self.reloads += 1
        log.info(
            "configuration reloaded: %d job(s), %d project(s)",
            len(served.jobs),
            len(served.projects),
        )
        if needs_restart:
            log.warning(
                "configuration reloaded; %s: restart crosscheck serve to apply %s",
                ", ".join(needs_restart),
                "it" if len(needs_restart) == 1 else "them",
            )
        self.on_change(served)
        for subscriber in list(self._subscribers):
            subscriber(served)
        return result

    def fingerprint(self) -> Fingerprint:
        """What changes when a file is edited, added or removed: the files' contents,
        not their times, so a file written again as it was (`crosscheck sandbox up`
        rewrites its connection.yaml, an editor saves unchanged) reloads nothing."""
        entries = []
        for path in discover(self.paths, IssueList()):
            try:
                digest = hashlib.sha256(path.read_bytes()).digest()
            except OSError:
                continue
            entries.append((str(path), digest))
        return tuple(entries)

    def reload_if_changed(self) -> LoadResult | None:
        current = self.fingerprint()
        if current == self._fingerprint:
            return None
        self._fingerprint = current
        return self.reload()

    async def watch(self, interval: float = 2.0, debounce: float = DEBOUNCE) -> None:
        """Reload whenever the files change, until cancelled: on the kernel's file
        notifications (no wake-up while nothing changes), once a burst of them has been
        quiet for `debounce` seconds (an editor's save, a `git pull`, is several). Where
        inotify is missing, the files are compared every `interval` seconds instead."""
        try:
            inotify = Inotify()
        except OSError as error:  # not Linux, or the instances' limit reached
            log.warning("configuration: no file notifications (%s); polling them", error)
            await self._poll(interval)
            return
        with inotify:
            self._watch_directories(inotify)
            # What changed between the start and now has no notification of its own.
            self.reload_if_changed()
            while True:
                # Any notification in a watched directory: a sibling may be what a
                # configured symlink points through (a ConfigMap's `..data` swapped);
                # the files' fingerprint says whether anything configured changed.
                await inotify.get()
                await _quiet(inotify, debounce)
                # Every time: a directory removed and made again lost its watch.
                self._watch_directories(inotify)
                self.reload_if_changed()

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()

    def _watch_directories(self, inotify: Inotify) -> None:
        """Watch every directory the files live in (not the files: editors replace a
        file by renaming another over it), and each path's parent, so a directory
        removed and made again is noticed. All of them each time: the kernel drops the
        watch of a directory removed, and watching one twice keeps one watch."""
        for directory in watched_directories(self.paths):
            try:
                inotify.add_watch(directory, WATCH_MASK)
            except OSError:  # gone since: its parent's notifications say when it is back
                continue

    def reload_on_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the configuration")
        self._fingerprint = self.fingerprint()
        self.reload()


def watched_directories(paths: Sequence[Path]) -> list[Path]:
    """Each configured path's directory and parent, and every directory below a
    configured directory that the loader reads (recursively, hidden ones skipped: a
    checkout's .git would wake the watch at every git command)."""
    found: list[Path] = []
    for path in paths:
        found.append(path.parent)
        if path.is_dir():
            for directory, subdirectories, _ in os.walk(path):
                found.append(Path(directory))
                subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
    return [directory for directory in dict.fromkeys(found) if directory.is_dir()]


async def _quiet(inotify: Inotify, debounce: float) -> None:
    """Take notifications until none came for `debounce` seconds, or for at most
    `LONGEST_QUIET` seconds: a busy neighbour (a database's journal beside the
    configuration) must not put a reload off for ever."""
    deadline = asyncio.get_running_loop().time() + LONGEST_QUIET
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            await asyncio.wait_for(inotify.get(), min(debounce, left))
        except TimeoutError:
            return


def _log_warnings(result: LoadResult) -> None:
    for issue in result.warnings:
        log.warning("configuration: %s", issue)


def keep_start_elements(start: Config, new: Config) -> tuple[Config, list[str]]:
    """`new` with the start-time connections, `executor` and `results` (each connection
    taking `new`'s live settings), and what differs from start, for the warning."""
    changes: list[str] = []
    connections: dict[str, GerritConnection] = {}
    for name, running in start.connections.items():
        wanted = new.connections.get(name)
        if wanted is None:
            changes.append(f"connection {name!r} removed")
            connections[name] = running
            continue
        changed = _changed_fields(running, wanted, ignore=LIVE_CONNECTION_FIELDS)
        if changed:
            changes.append(f"connection {name!r} {', '.join(changed)} changed")
        live = {field: getattr(wanted, field) for field in LIVE_CONNECTION_FIELDS}
        connections[name] = dataclasses.replace(running, **live)
    changes += [
        f"connection {name!r} added" for name in new.connections if name not in start.connections
    ]
    for element in START_ELEMENTS:
        changed = _changed_fields(getattr(start, element), getattr(new, element))
        if changed:
            changes.append(f"{element} {', '.join(changed)} changed")
    served = dataclasses.replace(
        new, connections=connections, executor=start.executor, results=start.results
    )
    return served, changes


def _changed_fields(
    before: object, after: object, ignore: frozenset[str] = frozenset()
) -> list[str]:
    return [
        field.name
        for field in dataclasses.fields(before)  # type: ignore[arg-type]
        if field.name not in ignore and getattr(before, field.name) != getattr(after, field.name)
    ]
