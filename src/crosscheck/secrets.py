"""Secrets named by the configuration, read at run time and never logged."""

from __future__ import annotations

import os
from pathlib import Path

from crosscheck.errors import CrosscheckError


class SecretError(CrosscheckError):
    """A secret the configuration names cannot be read."""


def read_secret(what: str, env: str | None, file: Path | None) -> str | None:
    """The secret from an environment variable or a file; None when neither is named."""
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise SecretError(f"{what}: the environment variable {env} is not set or empty")
        return value
    if file is not None:
        try:
            value = file.read_text().strip()
        except OSError as error:
            raise SecretError(f"{what}: cannot read {file}: {error.strerror}") from error
        if not value:
            raise SecretError(f"{what}: {file} is empty")
        return value
    return None
