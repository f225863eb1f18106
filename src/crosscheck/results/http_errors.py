"""The results service's refusals as HTTP errors, with the headers their clients need.

A `ResultsError` becomes a `LocatedHTTPError` of its status, its problems located
under the request's field (`results[3].project` for the fourth item of a batch),
asking for Basic credentials on a 401 and saying when to retry on a 429.
"""

from __future__ import annotations

from crosscheck.http.errors import LocatedHTTPError
from crosscheck.http.problems import describe
from crosscheck.results.errors import AuthenticationError, RateLimitedError, ResultsError


def http_error(error: ResultsError, prefix: str = "") -> LocatedHTTPError:
    """`prefix` turns the service's `[3].project` into `results[3].project`."""
    problems = [(_locate(prefix, where), message) for where, message in error.problems]
    message = describe(problems) if problems else str(error)
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = 'Basic realm="crosscheck results"'
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(error.seconds)
    return LocatedHTTPError(error.status_code, message, problems, headers or None)


def _locate(prefix: str, where: str) -> str:
    if not prefix:
        # A single result: "[0].url" is just "url".
        return where.split(".", 1)[1] if where.startswith("[0].") else where
    return f"{prefix}{where}" if where.startswith("[") else f"{prefix}.{where}".strip(".")
