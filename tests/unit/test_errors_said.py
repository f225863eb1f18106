"""`said`: an error as a log line names it, never "Kind: " with nothing after."""

from __future__ import annotations

import httpx

from crosscheck.errors import said


def test_an_error_is_its_kind_and_its_message() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert said(refused) == "ConnectionRefusedError: [Errno 111] Connection refused"


def test_a_timeout_without_a_message_says_it_timed_out() -> None:
    assert said(TimeoutError()) == "TimeoutError (no answer in time)"
    assert said(httpx.ReadTimeout("")) == "ReadTimeout (no answer in time)"
    assert said(httpx.ConnectTimeout("timed out")) == "ConnectTimeout: timed out"


def test_another_error_without_a_message_is_its_kind() -> None:
    assert said(ConnectionResetError()) == "ConnectionResetError"
    assert said(ValueError("  ")) == "ValueError"
