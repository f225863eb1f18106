"""Errors crosscheck raises on purpose, each with a message a user can act on.

    CrosscheckError                 every error below; the CLI prints its message, no traceback
    ├── PrerequisiteError           a tool crosscheck needs (Java, Maven, git) is missing or too old
    ├── ConfigInvalidError          a configuration has errors (each with file:line:column)
    ├── SandboxError                the local sandbox Gerrit could not be set up, started or stopped
    │   └── SandboxNotInitializedError  no sandbox exists yet in the state directory
    ├── DemoError                   the demo's CI loop did not come round (serve died, no report)
    └── GerritError                 talking to a Gerrit server failed
        ├── GerritUnreachableError  no answer (connection refused, timeout) after the retries
        └── GerritHttpError         Gerrit answered with an error status
            ├── GerritNotFoundError     404
            └── GerritConflictError     409

Each message names what went wrong, where, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence


class CrosscheckError(Exception):
    """Base of every error crosscheck raises on purpose."""


class PrerequisiteError(CrosscheckError):
    """A tool crosscheck needs is missing or too old."""


class ConfigInvalidError(CrosscheckError):
    """A configuration has errors; `issues` holds every one of them."""

    def __init__(self, issues: Sequence[object]) -> None:
        self.issues = list(issues)
        listing = "\n".join(str(issue) for issue in self.issues)
        super().__init__(f"the configuration has {len(self.issues)} error(s):\n{listing}")


class SandboxError(CrosscheckError):
    """The sandbox Gerrit could not be set up, started or stopped."""


class SandboxNotInitializedError(SandboxError):
    """No sandbox exists yet in the state directory."""


class DemoError(CrosscheckError):
    """The demo's CI loop did not come round: the serve died, or no report arrived in time."""


class GerritError(CrosscheckError):
    """Talking to a Gerrit server failed."""


class GerritUnreachableError(GerritError):
    """Gerrit did not answer after the retries.

    `may_have_acted` is False only when no connection was ever made, so Gerrit cannot
    have seen the request.
    """

    def __init__(self, message: str, may_have_acted: bool = True) -> None:
        super().__init__(message)
        self.may_have_acted = may_have_acted


class GerritHttpError(GerritError):
    """Gerrit answered with an error status."""

    def __init__(self, method: str, url: str, status_code: int, body: str) -> None:
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body
        detail = body.strip().splitlines()[0] if body.strip() else "(empty body)"
        super().__init__(f"Gerrit answered {status_code} to {method} {url}: {detail}")


class GerritNotFoundError(GerritHttpError):
    """Gerrit answered 404."""


class GerritConflictError(GerritHttpError):
    """Gerrit answered 409."""


__all__ = [
    "ConfigInvalidError",
    "CrosscheckError",
    "GerritConflictError",
    "GerritError",
    "GerritHttpError",
    "GerritNotFoundError",
    "GerritUnreachableError",
    "PrerequisiteError",
    "SandboxError",
    "SandboxNotInitializedError",
]
