"""The `ci`, `connection` and `label` elements, into the model."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from crosscheck.config.context import Context, Entry
from crosscheck.config.schema import CISpec, ConnectionSpec, ExecutorSpec, LabelSpec
from crosscheck.model.config import CISettings, ExecutorSettings, NodeLabel
from crosscheck.model.connection import GerritConnection


def build_ci(context: Context, entries: list[Entry[CISpec]]) -> None:
    if not entries:
        return
    for extra in entries[1:]:
        context.issues.error(
            f"'ci' is set twice (first at {entries[0].position})",
            extra.position,
            "keep one '- ci:' element",
        )
    spec = entries[0].spec
    ascii_name = unicodedata.normalize("NFKD", spec.name).encode("ascii", "ignore").decode()
    run_name = spec.run_name or re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    context.ci = CISettings(
        name=spec.name, run_name=run_name or "crosscheck", info_url=spec.info_url
    )


def build_executor(context: Context, entries: list[Entry[ExecutorSpec]]) -> None:
    if not entries:
        return
    for extra in entries[1:]:
        context.issues.error(
            f"'executor' is set twice (first at {entries[0].position})",
            extra.position,
            "keep one '- executor:' element",
        )
    spec, base = entries[0].spec, entries[0].position.path.parent
    context.executor = ExecutorSettings(
        slots=spec.slots,
        work_root=_path(spec.work_root, base),
        logs_root=_path(spec.logs_root, base),
        git_cache=_path(spec.git_cache, base),
        keep_failed_workspaces=spec.keep_failed_workspaces,
        log_retention_days=spec.log_retention_days,
        kill_grace=spec.kill_grace,
    )


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
        base = entry.position.path.parent
        context.connections[spec.name] = GerritConnection(
            name=spec.name,
            host=spec.host,
            user=spec.user,
            http_url=spec.http_url,
            ssh_port=spec.ssh_port,
            ssh_key=_path(spec.ssh_key, base),
            known_hosts=_path(spec.known_hosts, base),
            verify_host_keys=spec.verify_host_keys,
            http_password_env=spec.http_password_env,
            http_password_file=_path(spec.http_password_file, base),
            webhook_token_env=spec.webhook_token_env,
            webhook_token_file=_path(spec.webhook_token_file, base),
        )


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
