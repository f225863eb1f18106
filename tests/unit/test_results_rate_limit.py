"""A rate-limited CI is told one wait, in its message and its Retry-After alike."""

from __future__ import annotations

import pytest

from crosscheck.results.errors import RateLimitedError
from crosscheck.results.http_errors import http_error


@pytest.mark.parametrize(("wait", "seconds"), [(0.2, 1), (1.0, 1), (1.01, 2), (99.5, 100)])
def test_the_message_and_the_header_say_the_same_whole_seconds(wait: float, seconds: int) -> None:
    error = RateLimitedError("lab-ci", wait)
    assert str(error) == f"CI account 'lab-ci' sends too many requests: retry in {seconds}s"
    assert http_error(error).headers == {"Retry-After": str(seconds)}
