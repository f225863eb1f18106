"""A CI's token, checked once, is remembered for its next writes; each write confirms it
as it stores. Changes made by another process (the CLI: another `Accounts` on the same
store, so nothing here is told) count at the very next write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from crosscheck.results.accounts import Accounts
from tests.integration.results.api_harness import Harness, bearer, harness
from tests.integration.results.helpers import stored_count

RESULT: dict[str, Any] = {
    "project": "openstack/nova",
    "change": 1234,
    "patchset": 2,
    "job": "tempest-full",
    "value": "passed",
}


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def _remembered(api: Harness) -> tuple[str, Accounts]:
    """A CI account whose token the service remembers, and the CLI's view of the store."""
    token = await api.account("Nova CI")
    first = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
    assert first.status_code == 201, first.text
    assert len(api.service.accounts.verified._entries) == 1
    return token, Accounts(api.service.engine)


async def test_a_token_rotated_elsewhere_is_refused_at_the_next_write(api: Harness) -> None:
    token, elsewhere = await _remembered(api)
    await elsewhere.rotate_token("Nova CI")
    single = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
    batch = await api.http.post(
        "/api/v1/results/batch", json={"results": [RESULT]}, headers=bearer(token)
    )
    assert (single.status_code, batch.status_code) == (401, 401)
    assert single.json()["detail"] == "the token is not valid (wrong, or rotated since)"
    assert await stored_count(api.service) == 1
    assert api.service.accounts.verified._entries == {}


async def test_an_account_disabled_elsewhere_is_refused_with_its_reason(api: Harness) -> None:
    token, elsewhere = await _remembered(api)
    await elsewhere.set_enabled("Nova CI", False, "lab move")
    refused = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
    assert refused.status_code == 403
    assert "'Nova CI' is disabled (lab move)" in refused.json()["detail"]
    await elsewhere.set_enabled("Nova CI", True)
    again = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
    assert again.status_code == 201, again.text
    assert await stored_count(api.service) == 2


async def test_projects_changed_elsewhere_count_both_ways(api: Harness) -> None:
    token, elsewhere = await _remembered(api)
    cinder = RESULT | {"project": "openstack/cinder"}
    await elsewhere.update("Nova CI", allowed_projects=["openstack/nova"])
    narrowed = await api.http.post("/api/v1/results", json=cinder, headers=bearer(token))
    assert narrowed.status_code == 403
    assert [e["field"] for e in narrowed.json()["errors"]] == ["project"]
    await elsewhere.update("Nova CI", allowed_projects=["openstack/*"])
    # The service remembers the narrow projects: its refusal is read again, not trusted.
    widened = await api.http.post("/api/v1/results", json=cinder, headers=bearer(token))
    assert widened.status_code == 201, widened.text
    assert await stored_count(api.service) == 2


async def test_changes_through_the_api_forget_remembered_tokens(api: Harness) -> None:
    token, _ = await _remembered(api)
    await api.service.accounts.set_enabled("Nova CI", False, "paused")
    assert api.service.accounts.verified._entries == {}
    refused = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
    assert refused.status_code == 403


async def test_a_remembered_write_stores_what_a_first_one_does(api: Harness) -> None:
    token, _ = await _remembered(api)
    item = RESULT | {"change": 99, "duration": 61.5, "voting": False, "comment": "again"}
    answer = await api.http.post("/api/v1/results", json=item, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    stored = await api.service.change_results(99)
    assert [(r.uuid, r.account, r.duration, r.voting, r.comment) for r in stored] == [
        (body["id"], "Nova CI", 61.5, False, "again")
    ]
    assert (await api.service.account_statistics("Nova CI")).last_seen is not None


async def test_credentials_are_refused_before_the_body(api: Harness) -> None:
    token, elsewhere = await _remembered(api)
    bad = {"results": [RESULT, RESULT | {"value": "nope"}]}
    await elsewhere.set_enabled("Nova CI", False, "lab move")
    disabled = await api.http.post("/api/v1/results/batch", json=bad, headers=bearer(token))
    assert disabled.status_code == 403
    assert "'Nova CI' is disabled (lab move)" in disabled.json()["detail"]
    await elsewhere.set_enabled("Nova CI", True)
    await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))  # remembered
    await elsewhere.rotate_token("Nova CI")
    rotated = await api.http.post("/api/v1/results", json=bad["results"][1], headers=bearer(token))
    assert rotated.status_code == 401
    assert await stored_count(api.service) == 2
