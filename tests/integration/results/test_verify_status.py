"""The verify-status plugin's REST shape, as a Jenkins verify-status reporter uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.results.api_harness import Harness, harness
from tests.integration.results.helpers import REVISION, plugin_json, stored_count

PATH = "/a/changes/{change}/revisions/{revision}/verify-status~verifications"


def verification(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "gate-nova-python3",
        "value": 1,
        "url": "https://jenkins.example.org/job/gate-nova-python3/12/",
        "reporter": "whatever Jenkins says",
        "comment": "Non Voting",
        "category": "cloud",
        "duration": "1 min 30 sec",
        "abstain": True,
        "rerun": False,
    } | overrides


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def _save(
    api: Harness, name: str, token: str, body: Any, change: str = "openstack%2Fnova~1234"
) -> Any:
    return await api.http.post(
        PATH.format(change=change, revision="2"), json=body, auth=(name, token)
    )


async def test_save_then_read_in_the_plugins_shapes(api: Harness) -> None:
    token = await api.account("Jenkins CI")
    saved = await _save(api, "Jenkins CI", token, {"verifications": {"k1": verification()}})
    assert saved.status_code == 204, saved.text
    read = await api.http.get(PATH.format(change="1234", revision="2"))
    assert read.status_code == 200
    ((job_id, info),) = plugin_json(read).items()
    assert len(job_id) == 32
    assert info == {
        "name": "gate-nova-python3",
        "url": "https://jenkins.example.org/job/gate-nova-python3/12/",
        "value": 1,
        "abstain": True,
        "rerun": False,
        "reporter": "Jenkins CI",  # the caller, not what the body claims
        "comment": "Non Voting",
        "granted": info["granted"],
        "category": "cloud",
        "duration": "1m 30s",
    }
    assert len(info["granted"]) == len("2024-05-01 12:00:00.000000000")
    (stored,) = await api.service.change_results(1234)
    assert (stored.project, stored.patchset, stored.voting) == ("openstack/nova", 2, False)


async def test_filters_and_sorts(api: Harness) -> None:
    a = await api.account("a")
    b = await api.account("b")
    await _save(api, "b", b, {"verifications": {"1": verification(name="zeta", value=-1)}})
    await _save(api, "a", a, {"verifications": {"1": verification(name="zeta", value=-1)}})
    await _save(api, "a", a, {"verifications": {"1": verification(name="alpha", value=0)}})
    await _save(api, "a", a, {"verifications": {"1": verification(name="zeta", value=1)}})

    async def names(**params: str) -> list[tuple[str, str, int]]:
        answer = await api.http.get(PATH.format(change="1234", revision="2"), params=params)
        assert answer.status_code == 200, answer.text
        return [(i["reporter"], i["name"], i["value"]) for i in plugin_json(answer).values()]

    assert await names(sort="DATE") == [
        ("a", "zeta", 1),
        ("a", "alpha", 0),
        ("a", "zeta", -1),
        ("b", "zeta", -1),
    ]
    assert await names(sort="REPORTER") == [
        ("a", "alpha", 0),
        ("a", "zeta", 1),
        ("a", "zeta", -1),
        ("b", "zeta", -1),
    ]
    assert await names(sort="NAME", filter="CURRENT") == [
        ("a", "alpha", 0),
        ("a", "zeta", 1),
        ("b", "zeta", -1),
    ]
    assert await names(filter="FAILED", sort="REPORTER") == [("a", "zeta", -1), ("b", "zeta", -1)]
    bad = await api.http.get(PATH.format(change="1234", revision="2"), params={"sort": "SIZE"})
    assert bad.status_code == 422
    assert "sort" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"verifications": {"k": {"name": "j"}}}, 400, "verifications.k.value: Field required"),
        ({"verifications": {"k": verification(value=7)}}, 400, "value 7 has no meaning"),
        ({"verifications": {"k": verification(duration="ages")}}, 400, "cannot read duration"),
        ({"verifications": {"k": verification(url="file:///etc")}}, 400, "verifications.k.url"),
        ({"verifications": {}}, 400, "verifications"),
        ("nonsense", 400, "body"),
    ],
)
async def test_bad_bodies_get_400_and_nothing_is_stored(
    api: Harness, body: Any, status: int, words: str
) -> None:
    token = await api.account("a")
    saved = await _save(api, "a", token, body)
    assert saved.status_code == status, saved.text
    assert words in saved.json()["detail"]
    assert await stored_count(api.service) == 0


async def test_refusals(api: Harness) -> None:
    token = await api.account("a")
    body = {"verifications": {"k": verification()}}
    wrong_user = await _save(api, "b", token, body)
    assert wrong_user.status_code == 401
    not_allowed = await _save(api, "a", token, body, change="secret%2Fthing~5")
    assert not_allowed.status_code == 403
    assert "may not report on project 'secret/thing'" in not_allowed.json()["detail"]
    unknown = await _save(api, "a", token, body, change="999")
    assert unknown.status_code == 404
    assert "address it as PROJECT~999" in unknown.json()["detail"]
    await api.service.accounts.set_enabled("a", False)
    disabled = await _save(api, "a", token, body)
    assert disabled.status_code == 403
    assert await stored_count(api.service) == 0


async def test_changes_and_revisions_are_found_from_earlier_results(api: Harness) -> None:
    token = await api.account("a")
    native = {
        "project": "openstack/nova",
        "change": 1234,
        "patchset": 3,
        "revision": REVISION,
        "job": "unit",
        "value": "passed",
    }
    assert (await api.http.post("/api/v1/results", json=native, auth=("a", token))).is_success
    body = {"verifications": {"k": verification(name="by-sha")}}
    by_sha = await api.http.post(
        PATH.format(change="1234", revision=REVISION), json=body, auth=("a", token)
    )
    assert by_sha.status_code == 204, by_sha.text
    current = await api.http.get(PATH.format(change="1234", revision="current"))
    assert {i["name"] for i in plugin_json(current).values()} == {"unit", "by-sha"}
    (stored,) = await api.service.change_results(1234, job="by-sha")
    assert (stored.patchset, stored.revision) == (3, REVISION)
    nothing = await api.http.get(PATH.format(change="4321", revision="1"))
    assert plugin_json(nothing) == {}
