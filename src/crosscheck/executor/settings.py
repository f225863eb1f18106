"""The executor as the configuration describes it, with defaults resolved on this host."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.secrets import (
    SecretError,
    admin_token,
    http_password,
    results_token,
    secret_files,
    webhook_token,
)
from crosscheck.executor.confinement import Confinement, ConfineMode, confinement
from crosscheck.executor.executor import ConsoleWatchers, Executor
from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.pool import NodePool
from crosscheck.model.config import Config, ExecutorSettings
from crosscheck.paths import cache_dir, default_sandbox_dir, state_dir


@dataclass(frozen=True)
class ResolvedSettings:
    slots: int
    work_root: Path
    logs_root: Path
    git_cache: Path
    keep_failed_workspaces: bool
    log_retention: timedelta
    kill_grace: float
    git_stall_time: int
    confine: ConfineMode = ConfineMode.AUTO
    disk_limit: int = 0


def resolve(settings: ExecutorSettings) -> ResolvedSettings:
    """Paths left unset go under crosscheck's state directory (work, logs) and cache (git)."""
    return ResolvedSettings(
        slots=settings.slots,
        work_root=settings.work_root or state_dir() / "work",
        logs_root=settings.logs_root or state_dir() / "logs",
        git_cache=settings.git_cache or cache_dir() / "git",
        keep_failed_workspaces=settings.keep_failed_workspaces,
        log_retention=timedelta(days=settings.log_retention_days),
        kill_grace=float(settings.kill_grace),
        git_stall_time=settings.git_stall_time,
        confine=ConfineMode(settings.confine),
        disk_limit=settings.disk_limit,
    )


def local_confinement(
    config: Config,
    settings: ResolvedSettings,
    private_files: Sequence[Path] = (),
    current: Callable[[], Config] | None = None,
) -> Confinement | None:
    """How this host's slots confine their builds: out of sight, crosscheck's state and
    logs, the sandbox's (its admin's password), the other builds, its user's home, the
    configuration's
    secrets (of `current()`'s too, when given: a reload may name new ones), serve's SSH
    agent (which logs in to Gerrit and the lab without a key file) and `private_files`
    (the store); the git cache readable. ConfinementError when `confine: bubblewrap`
    cannot be had."""
    agent = os.environ.get("SSH_AUTH_SOCK")
    sandbox = os.environ.get("CROSSCHECK_SANDBOX_DIR")
    found = confinement(
        settings.confine,
        hidden_dirs=[
            state_dir(),
            Path(sandbox) if sandbox else default_sandbox_dir(),
            settings.logs_root,
            settings.work_root,
            *_home(),
        ],
        hidden_files=[*secret_files(config), *private_files, *([Path(agent)] if agent else [])],
        readable_dirs=[settings.git_cache],
    )
    if found is None or current is None:
        return found
    return replace(found, live_files=lambda: secret_files(current()))


def _home() -> list[Path]:
    """The service's user's home, which holds what the configuration does not name (its
    ~/.ssh keys, its tools' tokens): a step has a home of its own. Not `/` (a user
    without a home of its own), which would hide the system."""
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError):  # no HOME and no passwd entry
        return []
    return [home] if home != Path("/") else []


def configured_secrets(config: Config) -> list[str]:
    """Every secret the configuration names and this host can read, to mask in logs."""
    readers: list[Callable[[], str | None]] = [
        partial(secret, connection)
        for connection in config.connections.values()
        for secret in (http_password, webhook_token)
    ]
    readers += [partial(admin_token, config.ci), partial(results_token, config.results)]
    found: list[str] = []
    for read in readers:
        try:
            value = read()
        except SecretError:
            continue  # an unreadable secret cannot be printed either
        if value:
            found.append(value)
    return found


def executor_from_config(
    config: Config,
    extra_secrets: Sequence[str] = (),
    settings: ResolvedSettings | None = None,
    engine: AsyncEngine | None = None,
    *,
    console_hub: ConsoleWatchers | None = None,
    private_files: Sequence[Path] = (),
    current: Callable[[], Config] | None = None,
    confined: Confinement | Literal["to_find"] | None = "to_find",
) -> Executor:
    """An executor on the configuration's nodes (this host's slots, its SSH nodes and
    PODs), with its directories and secrets to mask (with `extra_secrets`, those the
    service holds beyond the configuration's); `settings`, when given, are the
    configuration's executor settings already resolved. With `engine`, node locks,
    holds and drains are kept in the store. `console_hub` hears of every console line
    (serve's live consoles). `private_files`: files of the service a build must not read
    beyond those the configuration names (its store). `current`: the configuration as
    reloaded, whose secrets are masked and hidden from builds as soon as it names them.
    `confined`: this host's confinement when the caller already found it (serve, which
    must refuse before it makes its store)."""
    settings = settings or resolve(config.executor)
    if confined == "to_find":
        confined = local_confinement(config, settings, private_files, current)
    local = LocalNodeProvider(
        settings.work_root, settings.slots, settings.kill_grace, confinement=confined
    )
    pool = NodePool(config.lab, local, engine, kill_grace=settings.kill_grace)
    return Executor(
        pool,
        settings.logs_root,
        MirrorCache(settings.git_cache),
        secrets=lambda: [*configured_secrets(current() if current else config), *extra_secrets],
        keep_failed_workspaces=settings.keep_failed_workspaces,
        console_hub=console_hub,
        git_stall_time=settings.git_stall_time,
        disk_limit=settings.disk_limit,
    )
