"""The `ci`, `executor`, `results`, `connection` and `label` elements, into the model.

A connection element is its driver's: the driver it names (drivers/registry.py) gives
the spec that checks it and builds the model's connection from the checked spec.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import create_model

from crosscheck.config.context import Context, Entry
from crosscheck.config.pages import PagesSettingsError, load_pages_settings
from crosscheck.config.schema import CISpec, ExecutorSpec, LabelSpec, ResultsSpec
from crosscheck.drivers.config import ConnectionSpec
from crosscheck.drivers.registry import DEFAULT, DRIVERS
from crosscheck.model.account_text import account_name_problem
from crosscheck.model.config import CISettings, ExecutorSettings, NodeLabel, ResultsConfig
from crosscheck.model.connection import GerritConnection


def _only_one(context: Context, kind: str, entries: list[Entry[Any]]) -> None:
    """`ci`, `executor` and `results` are set once; the first one counts."""
    for extra in entries[1:]:
        context.issues.error(
            f"'{kind}' is set twice (first at {entries[0].position})",
            extra.position,
            f"keep one '- {kind}:' element",
        )


def build_ci(context: Context, entries: list[Entry[CISpec]]) -> None:
    if not entries:
        return
    _only_one(context, "ci", entries)
    spec = entries[0].spec
    ascii_name = unicodedata.normalize("NFKD", spec.name).encode("ascii", "ignore").decode()
    run_name = spec.run_name or re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    context.ci = CISettings(
        name=spec.name,
        run_name=run_name or "crosscheck",
        info_url=spec.info_url,
        admin_token_env=spec.admin_token_env,
        admin_token_file=_path(spec.admin_token_file, entries[0].position.path.parent),
        report_give_up_after=spec.report_give_up_after,
    )


def build_executor(context: Context, entries: list[Entry[ExecutorSpec]]) -> None:
    if not entries:
        return
    _only_one(context, "executor", entries)
    spec, base = entries[0].spec, entries[0].position.path.parent
    context.executor = ExecutorSettings(
        slots=spec.slots,
        work_root=_path(spec.work_root, base),
        logs_root=_path(spec.logs_root, base),
        git_cache=_path(spec.git_cache, base),
        keep_failed_workspaces=spec.keep_failed_workspaces,
        log_retention_days=spec.log_retention_days,
        kill_grace=spec.kill_grace,
        labels=tuple(spec.labels) if spec.labels is not None else None,
        node_check_interval=spec.node_check_interval,
        git_stall_time=spec.git_stall_time,
        confine=spec.confine,
        disk_limit=spec.disk_limit,
    )


def build_results(
    context: Context, entries: list[Entry[ResultsSpec]], ci: list[Entry[CISpec]]
) -> None:
    """After `build_ci`: results are reported as the CI's name unless `account` says."""
    _only_one(context, "results", entries)
    if not entries:
        context.results = ResultsConfig(account=context.ci.name)
        if not context.is_broken("results", ""):  # its own errors are reported already
            _check_default_account(context, context.results, ci)
        return
    spec, base = entries[0].spec, entries[0].position.path.parent
    context.results = ResultsConfig(
        serve=spec.serve,
        public_reads=spec.public_reads,
        rate=spec.rate,
        burst=spec.burst,
        max_result_age=spec.max_result_age,
        pages=_path(spec.pages, base),
        read_token_env=spec.read_token_env,
        read_token_file=_path(spec.read_token_file, base),
        report=spec.report,
        url=spec.url,
        account=spec.account or context.ci.name,
        token_env=spec.token_env,
        token_file=_path(spec.token_file, base),
    )
    if spec.account is None:
        _check_default_account(context, context.results, ci)
    _check_pages(context, context.results, entries[0])


def _check_pages(context: Context, results: ResultsConfig, entry: Entry[ResultsSpec]) -> None:
    """The pages' file is read as serve will read it, so `config check` finds its mistakes."""
    if results.pages is None or not results.serve:
        return
    try:
        load_pages_settings(results.pages)
    except PagesSettingsError as error:
        context.issues.error(
            str(error),
            entry.body.position_of("pages"),
            "fix the file (docs/results.md#pages), or point `pages` at another",
        )


def _check_default_account(
    context: Context, results: ResultsConfig, ci: list[Entry[CISpec]]
) -> None:
    """The CI's name becomes a CI account's name when results are reported."""
    problem = account_name_problem(results.account)
    if problem is None or not results.reporting or not ci:
        return
    context.issues.error(
        f"results are reported as CI account {results.account!r} (the ci name), but {problem}",
        ci[0].body.position_of("name"),
        "name the account in the results element: '- results: {account: acme-ci}'",
    )


def connection_spec(body: Any) -> type[ConnectionSpec]:
    """The spec of a connection element: its driver's, the default one's if it names none."""
    name = body.get("driver", DEFAULT) if isinstance(body, dict) else DEFAULT
    driver = DRIVERS.get(name) if isinstance(name, str) else None
    return driver.connection_spec if driver else _any_driver_spec(tuple(DRIVERS))


@cache
def _any_driver_spec(names: tuple[str, ...]) -> type[ConnectionSpec]:
    """The default driver's spec, its `driver` key naming every driver: an unknown driver
    is reported as a choice among them, beside what else is wrong with the element."""
    default: type[ConnectionSpec] = DRIVERS[DEFAULT].connection_spec
    choice: Any = Literal[names]
    return create_model(default.__name__, __base__=default, driver=(choice, DEFAULT))


def build_connections(context: Context, entries: list[Entry[ConnectionSpec]]) -> None:
    for entry in entries:
        spec = entry.spec
        if spec.name == "timer":
            context.issues.error(
                "'timer' is the name of the built-in timer trigger",
                entry.body.position_of("name"),
                "name the connection otherwise",
            )
            continue
        if not context.define("connection", spec.name, entry.position):
            continue
        driver = DRIVERS[spec.driver]
        built = driver.connection(spec, partial(_path, base=entry.position.path.parent))
        # The model types every connection as Gerrit's, as the engine reads them: a
        # connection of another driver passes through config/ as its driver built it.
        context.connections[spec.name] = cast(GerritConnection, built)
        context.drivers[spec.name] = driver


def _path(value: str | None, base: Path) -> Path | None:
    """Paths are relative to the file that names them; `~` is the user's home."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def build_labels(context: Context, entries: list[Entry[LabelSpec]]) -> None:
    for entry in entries:
        if context.define("label", entry.spec.name, entry.position):
            context.labels[entry.spec.name] = NodeLabel(entry.spec.name, entry.spec.description)
