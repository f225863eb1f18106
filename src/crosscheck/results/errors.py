"""Errors of the results service; each maps to one HTTP status and one SSH exit status.

CrosscheckError
└── ResultsError                  the results service refused a request
    ├── AuthenticationError       no or wrong credentials (401)
    ├── AccountDisabledError      the CI account is disabled (403)
    ├── NotAllowedError           the account may not do this: another account, a project (403)
    ├── AccountNotFoundError      no such CI account (404)
    ├── UnknownChangeError        a change or revision the service cannot place (404)
    ├── UnknownCandidateError     a candidate, scenario or level promotion does not know (404)
    ├── AccountExistsError        the name or the SSH key is taken (409)
    ├── InvalidInputError        a result or account is malformed; `problems` locate each (422)
    ├── RateLimitedError          too many requests; `retry_after` seconds (429)
    └── UnavailableError          the service cannot check a request now: the admin token (503)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from crosscheck.errors import CrosscheckError
from crosscheck.http.problems import describe


class ResultsError(CrosscheckError):
    """The results service refused a request.

    `problems` locates what was refused, as (location, message) pairs with the
    location like `[3].project` (the fourth item of a batch).
    """

    status_code = 400

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)


class AuthenticationError(ResultsError):
    status_code = 401


class AccountDisabledError(ResultsError):
    status_code = 403


class NotAllowedError(ResultsError):
    status_code = 403


class AccountNotFoundError(ResultsError):
    status_code = 404


class UnknownChangeError(ResultsError):
    status_code = 404


class UnknownCandidateError(ResultsError):
    status_code = 404


class AccountExistsError(ResultsError):
    status_code = 409


class InvalidInputError(ResultsError):
    status_code = 422

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(describe(problems), problems)


class RateLimitedError(ResultsError):
    status_code = 429

    def __init__(self, account: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"CI account {account!r} sends too many requests: retry in {self.seconds}s"
        )

    @property
    def seconds(self) -> int:
        """Whole seconds to wait, rounded up and at least one: the message and the
        Retry-After header say the same."""
        return max(1, math.ceil(self.retry_after))


class UnavailableError(ResultsError):
    status_code = 503


__all__ = [
    "AccountDisabledError",
    "AccountExistsError",
    "AccountNotFoundError",
    "AuthenticationError",
    "InvalidInputError",
    "NotAllowedError",
    "RateLimitedError",
    "ResultsError",
    "UnavailableError",
    "UnknownCandidateError",
    "UnknownChangeError",
]
