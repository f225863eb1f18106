"""The Gerrit REST client: decoding, errors, and which calls it retries (against the fake
Gerrit, or a handler scripting exact answers where a test is about those bytes)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from crosscheck.drivers.gerrit.errors import (
    GerritConflictError,
    GerritHttpError,
    GerritNotFoundError,
    GerritUnreachableError,
)
from crosscheck.drivers.gerrit.rest import (
    GerritRestClient,
    RetryPolicy,
    change_id,
    parse_body,
)
from tests.fakes.gerrit import PASSWORD, Change, FakeGerrit, Revision

NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)
Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler, *, user: str | None = "ci", retry: RetryPolicy = NO_WAIT
) -> GerritRestClient:
    return GerritRestClient(
        "http://gerrit.test/",
        user,
        PASSWORD if user else None,
        retry=retry,
        transport=httpx.MockTransport(handler),
    )


def json_reply(text: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, text=")]}'\n" + text)


async def test_strips_the_xssi_prefix_and_uses_the_authenticated_prefix() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply('{"_number": 7}')

    async with client(handler) as gerrit:
        assert await gerrit.get("/changes/x") == {"_number": 7}
    assert seen[0].url.path == "/a/changes/x"
    assert seen[0].headers["authorization"].startswith("Basic ")


async def test_anonymous_calls_have_no_prefix_and_no_credentials() -> None:
    fake = FakeGerrit()  # its version: 3.10.2
    seen = fake.requests
    async with client(fake, user=None) as gerrit:
        assert await gerrit.get("config/server/version") == "3.10.2"
    assert seen[0].url.path == "/config/server/version"
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, GerritNotFoundError), (409, GerritConflictError), (400, GerritHttpError)],
)
async def test_error_statuses_raise_typed_errors_with_the_body(
    status: int, error: type[GerritHttpError]
) -> None:
    async with client(lambda _: httpx.Response(status, text="Not found: 42\n")) as gerrit:
        with pytest.raises(error) as caught:
            await gerrit.get("/changes/42")
    assert caught.value.status_code == status
    assert "Not found: 42" in str(caught.value)
    assert "GET /a/changes/42" in str(caught.value)


async def test_get_is_retried_on_503_then_succeeds() -> None:
    fake = FakeGerrit()  # no open change
    fake.fail("GET /changes/", 503, times=2)
    calls = fake.requests
    async with client(fake) as gerrit:
        assert await gerrit.get("/changes/") == []
    assert len(calls) == 3


async def test_post_is_not_retried_once_gerrit_may_have_acted() -> None:
    fake = FakeGerrit([Change(1, "p", [Revision(1, "a" * 40)])])
    fake.fail("POST */review", httpx.ReadTimeout, "slow")
    calls = fake.requests
    async with client(fake) as gerrit:
        with pytest.raises(GerritUnreachableError, match="ReadTimeout"):
            await gerrit.post("/changes/1/revisions/current/review", {"message": "hi"})
    assert len(calls) == 1


async def test_post_is_retried_when_the_connection_was_never_made() -> None:
    outcomes: list[httpx.Response | Exception] = [httpx.ConnectError("refused"), json_reply("{}")]

    def handler(_: httpx.Request) -> httpx.Response:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async with client(handler) as gerrit:
        assert await gerrit.post("/changes/1/revisions/current/review", {}) == {}
    assert outcomes == []


async def test_gives_up_after_the_policy_attempts_and_says_so() -> None:
    fake = FakeGerrit(down=True)
    calls = fake.requests
    async with client(fake) as gerrit:
        with pytest.raises(GerritUnreachableError, match="after 3 attempt"):
            await gerrit.get("/config/server/version")
    assert len(calls) == 3


async def test_json_and_text_bodies_are_sent_with_their_content_types() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with client(handler) as gerrit:
        assert await gerrit.put("/projects/p", {"create_empty_commit": True}) is None
        assert await gerrit.post_text("/accounts/self/sshkeys", "ssh-ed25519 AAAA x") is None
    assert seen[0].headers["content-type"].startswith("application/json")
    assert seen[0].content == b'{"create_empty_commit": true}'
    assert seen[1].headers["content-type"].startswith("text/plain")


def test_change_id_encodes_slashes_in_the_project() -> None:
    assert change_id("sandbox/ci-sandbox", 12) == "sandbox%2Fci-sandbox~12"


def test_parse_body_keeps_plain_text_as_text() -> None:
    assert parse_body("#!/bin/sh\necho hook\n") == "#!/bin/sh\necho hook\n"
    assert parse_body(")]}'\n[1, 2]") == [1, 2]


def test_backoff_stays_within_its_ceiling() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=4.0)
    delays = [policy.delay(attempt) for attempt in range(10) for _ in range(20)]
    assert all(0 <= delay <= 4.0 for delay in delays)
    assert max(delays) > 0.5  # it does grow past the base
