"""Secrets named by the configuration, read at run time and never logged."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from crosscheck.errors import CrosscheckError
from crosscheck.model.config import CISettings, Config, ResultsConfig
from crosscheck.model.connection import GerritConnection


class SecretError(CrosscheckError):
    """A secret the configuration names cannot be read."""


#: Returns a token read now (so a rotated file or a reloaded configuration takes effect
#: at once), None when none is configured; raises SecretError when the configured one
#: cannot be read.
TokenSource = Callable[[], str | None]


def read_secret(
    what: str, env: str | None, file: Path | None, setting: str | None = None
) -> str | None:
    """The secret from an environment variable or a file; None when neither is named.
    `setting`: the configuration's name for them (`http_password` for
    `http_password_env` and `http_password_file`), said in the errors."""
    if env is not None:
        value = os.environ.get(env)
        if not value:
            named = f" ({setting}_env)" if setting else ""
            raise SecretError(f"{what}: the environment variable {env} is not set or empty{named}")
        return value
    if file is not None:
        named = f" ({setting}_file)" if setting else ""
        try:
            value = file.read_text().strip()
        except OSError as error:
            raise SecretError(f"{what}: cannot read {file}{named}: {error.strerror}") from error
        if not value:
            raise SecretError(f"{what}: {file}{named} is empty")
        return value
    return None


def http_password(connection: GerritConnection) -> str | None:
    """The connection's Gerrit HTTP password, if the configuration names one."""
    return read_secret(
        f"connection '{connection.name}' HTTP password",
        connection.http_password_env,
        connection.http_password_file,
        "http_password",
    )


def webhook_token(connection: GerritConnection) -> str | None:
    """The token Gerrit's webhooks plugin puts in the URL, if the configuration names one."""
    return read_secret(
        f"connection '{connection.name}' webhook token",
        connection.webhook_token_env,
        connection.webhook_token_file,
        "webhook_token",
    )


def admin_token(ci: CISettings) -> str | None:
    """The admin token (results accounts API, operator writes), if the `ci` element names one."""
    return read_secret(
        "the admin token (ci element)", ci.admin_token_env, ci.admin_token_file, "admin_token"
    )


def results_token(results: ResultsConfig) -> str | None:
    """The CI account's token for reporting results, if the `results` element names one."""
    return read_secret(
        f"the results token of CI account {results.account!r}",
        results.token_env,
        results.token_file,
        "token",
    )


def read_token(results: ResultsConfig) -> str | None:
    """The read-only token of a Checks tab, if the `results` element names one."""
    return read_secret(
        "the results read token",
        results.read_token_env,
        results.read_token_file,
        "read_token",
    )


def ssh_files_readable(connection: GerritConnection) -> None:
    """The connection's SSH key and known_hosts, when the configuration names them, can
    be read: a wrong path is said once, with the setting, not retried for ever by the
    event stream."""
    files = (
        ("ssh_key", connection.ssh_key, "make the key with ssh-keygen"),
        ("known_hosts", connection.known_hosts, "write it with ssh-keyscan"),
    )
    for setting, path, making in files:
        if path is None:
            continue
        try:
            with path.open("rb") as read:
                read.read(1)
        except OSError as error:
            raise SecretError(
                f"connection '{connection.name}' {setting}: cannot read {path}: "
                f"{error.strerror} (fix the path, or {making})"
            ) from error


def secret_files(config: Config) -> list[Path]:
    """Every file the configuration names that holds a secret or a private key: what a
    confined build is not shown (executor/confinement.py)."""
    files: list[Path | None] = [config.ci.admin_token_file]
    files += [config.results.token_file, config.results.read_token_file]
    for connection in config.connections.values():
        files += [connection.http_password_file, connection.webhook_token_file]
        files.append(connection.ssh_key)
    files += [node.key_file for node in config.lab.nodes.values()]
    return [file for file in files if file is not None]


def all_readable(config: Config) -> None:
    """Every secret and key the configuration names, read once: SecretError for the
    first that cannot be, before serve makes anything (its store, its CI account)."""
    for connection in config.connections.values():
        http_password(connection)
        webhook_token(connection)
        ssh_files_readable(connection)
    admin_token(config.ci)
    results_token(config.results)
