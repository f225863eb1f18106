"""The Gerrit driver's errors: the engine sees them as the driver-neutral
`DriverError` (try again later) and `DriverNotFoundError` of `drivers.base`.

    DriverError
    └── GerritError                 talking to a Gerrit server failed
        ├── GerritUnreachableError  no answer (connection refused, timeout) after the retries
        └── GerritHttpError         Gerrit answered with an error status
            ├── GerritNotFoundError     404 (also a DriverNotFoundError)
            └── GerritConflictError     409
"""

from __future__ import annotations

from crosscheck.drivers.base import DriverError, DriverNotFoundError
from crosscheck.errors import printable

#: The characters of Gerrit's answer a message quotes (a proxy's page may be one line).
MAX_DETAIL = 500


class GerritError(DriverError):
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
        first = body.strip().splitlines()[0] if body.strip() else "(empty body)"
        # What a server (or a proxy before it) answered goes to logs and terminals.
        detail = printable(first, MAX_DETAIL) + ("..." if len(first) > MAX_DETAIL else "")
        super().__init__(f"Gerrit answered {status_code} to {method} {url}: {detail}")


class GerritNotFoundError(GerritHttpError, DriverNotFoundError):
    """Gerrit answered 404."""


class GerritConflictError(GerritHttpError):
    """Gerrit answered 409."""
