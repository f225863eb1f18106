"""The health table's data through the API: driver and contact, merges, votes, sorting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.config.pages import NO_SNAPSHOTS, PagesSettings, SnapshotPolicy
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.merges import recording_merges
from crosscheck.store.tables import account_projects, merged_changes
from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness
from tests.integration.results.test_api import RESULT

ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def create(api: Harness, name: str, **fields: Any) -> str:
    body = {"name": name, "allowed_projects": ["openstack/*"], **fields}
    created = await api.http.post("/api/v1/accounts", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def test_driver_and_contact_are_set_read_audited_and_checked(api: Harness) -> None:
    await create(api, "Acme CI", driver="Acme NFS driver", contact="ci@acme.example")
    read = (await api.http.get("/api/v1/accounts/Acme CI")).json()
    assert (read["driver"], read["contact"]) == ("Acme NFS driver", "ci@acme.example")
    changed = await api.http.patch(
        "/api/v1/accounts/Acme CI", json={"contact": "https://acme.example/ci"}, headers=ADMIN
    )
    assert changed.json()["contact"] == "https://acme.example/ci"
    assert changed.json()["driver"] == "Acme NFS driver"  # untouched
    trail = (await api.http.get("/api/v1/audit", headers=ADMIN)).json()["events"]
    assert "driver: 'Acme NFS driver'" in trail[-1]["detail"]
    assert trail[0]["detail"] == "contact: 'https://acme.example/ci'"


async def test_a_disabled_ci_shows_why_on_the_table_escaped_and_not_once_enabled(
    store_url: str,
) -> None:
    async with harness(store_url, pages=PagesSettings(health_snapshots=NO_SNAPSHOTS)) as api:
        await disabled_then_enabled(api)


async def disabled_then_enabled(api: Harness) -> None:
    await create(api, "Acme CI")
    why = 'votes -1 on "everything" & spams (ask ops\' Bob)'
    disabled = await api.http.post(
        "/api/v1/accounts/Acme CI/disable", json={"reason": why}, headers=ADMIN
    )
    assert disabled.status_code == 200, disabled.text
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert (row["enabled"], row["disabled_reason"]) == (False, why)
    page = (await api.http.get("/health")).text
    assert 'disabled<span class="reason">: votes -1 on &#34;everything&#34; &amp; spams' in page
    assert (await api.http.post("/api/v1/accounts/Acme CI/enable", headers=ADMIN)).is_success
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert (row["enabled"], row["disabled_reason"]) == (True, "")


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"contact": "javascript:alert(1)"}, "contact"),
        ({"contact": "Call <b>Bob</b>"}, "contact"),
        ({"contact": 'https://evil.example/"><script>alert(1)</script>'}, "contact"),
        ({"info_url": "https://ci.example/<b>"}, "info_url"),
        ({"contact": "x" * 190 + "@acme.example"}, "contact"),
        ({"driver": "<script>x</script>"}, "driver"),
        ({"driver": "a\nb"}, "driver"),
        ({"driver": "d" * 201}, "driver"),
    ],
)
async def test_bad_driver_or_contact_is_a_located_422(
    api: Harness, fields: dict[str, str], where: str
) -> None:
    created = await api.http.post(
        "/api/v1/accounts", json={"name": "Bad CI", **fields}, headers=ADMIN
    )
    assert created.status_code == 422, created.text
    assert [e["field"] for e in created.json()["errors"]] == [where]
    await create(api, "Good CI")
    changed = await api.http.patch("/api/v1/accounts/Good CI", json=fields, headers=ADMIN)
    assert changed.status_code == 422
    assert [e["field"] for e in changed.json()["errors"]] == [where]


def merge(change: int, patchset: int, **extra: Any) -> dict[str, Any]:
    return {
        "change": change,
        "project": "openstack/nova",
        "patchset": patchset,
        "merged_at": datetime.now(UTC).isoformat(),
    } | extra


async def test_merges_need_the_admin_token_and_are_checked(api: Harness) -> None:
    token = await create(api, "Acme CI")
    body = {"merges": [merge(1, 2)]}
    anonymous = await api.http.post("/api/v1/merges", json=body)
    assert anonymous.status_code == 401
    # Said for merges, not as "managing CI accounts" (the guard they share).
    assert anonymous.json()["detail"].startswith("this request needs the admin token")
    as_ci = await api.http.post("/api/v1/merges", json=body, headers=bearer(token))
    assert as_ci.status_code == 403
    future = datetime.now(UTC) + timedelta(days=1)
    refused = await api.http.post(
        "/api/v1/merges",
        json={"merges": [merge(1, 2), merge(2, 1, merged_at=future.isoformat())]},
        headers=ADMIN,
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["merges[1].merged_at"]
    naive = await api.http.post(
        "/api/v1/merges", json={"merges": [merge(1, 2, merged_at="2024-05-01T12:00:00")]},
        headers=ADMIN,
    )  # fmt: skip
    assert naive.status_code == 422
    for moment in ("0001-01-01T00:30:00+01:00", "1969-12-31T23:59:59Z"):
        early = await api.http.post(
            "/api/v1/merges", json={"merges": [merge(1, 2, merged_at=moment)]}, headers=ADMIN
        )
        assert early.status_code == 422, moment
        assert early.json()["errors"][0]["field"] == "merges[0].merged_at"


async def test_votes_count_the_merged_patchset_once_per_change(api: Harness) -> None:
    token = await create(api, "Acme CI", driver="Acme NFS")
    results = [
        RESULT | {"change": 1, "patchset": 1, "job": "unit", "value": "failed"},  # old patchset
        RESULT | {"change": 1, "patchset": 2, "job": "unit", "value": "passed"},
        RESULT | {"change": 1, "patchset": 2, "job": "lint", "value": "passed"},
        RESULT | {"change": 2, "patchset": 1, "job": "unit", "value": "failed"},
        RESULT | {"change": 3, "patchset": 1, "job": "unit", "value": "passed"},  # not merged
    ]
    sent = await api.http.post(
        "/api/v1/results/batch", json={"results": results}, headers=bearer(token)
    )
    assert sent.status_code == 201, sent.text
    for _ in range(2):  # idempotent
        recorded = await api.http.post(
            "/api/v1/merges", json={"merges": [merge(1, 2), merge(2, 1)]}, headers=ADMIN
        )
        assert recorded.json() == {"recorded": 2}
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert (row["merged_votes"], row["merged_passed"], row["merged_success"]) == (2, 1, 0.5)
    assert row["results_30d"] == 5
    assert row["driver"] == "Acme NFS"
    assert row["projects"] == [RESULT["project"]]
    assert row["latest"]["change"] in (1, 2, 3)
    assert len(row["trend"]) == 30
    assert row["trend"][-1]["final"] == 5


async def test_a_job_reported_running_and_then_ended_is_one_result(api: Harness) -> None:
    """A CI that reports its jobs starting (crosscheck's reporter does) is counted for
    the results it ends with: in_progress reports are kept, not added to the figures."""
    token = await create(api, "Acme CI")
    jobs = {"unit": "passed", "lint": "passed", "docs": "failed", "slow": None}

    def reports(ended: bool) -> list[dict[str, Any]]:
        return [
            RESULT | {"job": job, "value": end if ended else "in_progress"}
            for job, end in jobs.items()
            if end is not None or not ended
        ]

    for ended in (False, True):
        sent = await api.http.post(
            "/api/v1/results/batch", json={"results": reports(ended)}, headers=bearer(token)
        )
        assert sent.status_code == 201, sent.text
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert (row["results_24h"], row["results_7d"], row["results_30d"]) == (3, 3, 3)
    assert row["success_30d"] == pytest.approx(2 / 3)
    stats = (await api.http.get("/api/v1/accounts/Acme%20CI/statistics", headers=ADMIN)).json()
    window = stats["windows"]["30d"]
    assert window["total"] == 3
    assert window["counts"] == {"in_progress": 4, "passed": 2, "failed": 1}
    html = (await api.http.get("/health")).text
    assert ">3<" in html


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("sort=nope", "sort"), ("order=sideways", "order"), ("flagged=maybe", "flagged")],
)
async def test_a_bad_sort_or_filter_is_a_400_naming_it(
    api: Harness, query: str, parameter: str
) -> None:
    answer = await api.http.get(f"/json/health?{query}")
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["field"] == f"{parameter} (query parameter)"
    assert "accepted values" in error["message"]
    page = await api.http.get(f"/health?{query}")
    assert page.status_code == 400
    assert f"{parameter}: " in page.text
    assert "accepted values" in page.text


async def test_the_twin_sorts_and_filters_as_the_page(api: Harness) -> None:
    await create(api, "Beta CI", driver="Zeta", owner="Acme")
    await create(api, "Alpha CI", driver="Acme NFS")
    await create(api, "Gamma CI", owner="Other")
    data = (await api.http.get("/json/health?sort=driver&order=desc&q=acme")).json()
    assert [r["account"] for r in data["rows"]] == ["Beta CI", "Alpha CI"]
    assert data["total"] == 3
    assert data["query"] == {
        "sort": "driver",
        "order": "desc",
        "text": "acme",
        "project": "",
        "flagged": False,
    }


async def test_serves_intake_records_a_merge_with_the_event(api: Harness) -> None:
    """serve wraps its scheduler's sink so: the merge commits with the event, or not at all."""
    seen: list[str] = []

    async def sink(event: Event, connection: AsyncConnection) -> None:
        seen.append(event.type)

    accept = recording_merges(sink)
    when = datetime(2024, 5, 1, tzinfo=UTC)
    change = Change(project="openstack/nova", branch="master", number=77)
    merged = Event(
        type="change-merged",
        connection="gerrit",
        created_on=int(when.timestamp()),
        change=change,
        patchset=PatchSet(number=4, revision="a" * 40),
    )
    other = Event(type="comment-added", connection="gerrit", created_on=0, change=change)
    async with api.service.engine.begin() as connection:
        await accept(merged, connection)
        await accept(other, connection)
    assert seen == ["change-merged", "comment-added"]
    async with api.service.engine.connect() as connection:
        rows = [tuple(r) for r in await connection.execute(select(merged_changes))]
    assert rows == [(77, "openstack/nova", 4, when)]


async def test_projects_covered_are_kept_by_each_report_within_30_days(store_url: str) -> None:
    """The health table reads the projects from a table each report keeps: a newer
    report moves a project's time on, an imported older one never moves it back."""
    async with harness(store_url, pages=PagesSettings(health_snapshots=NO_SNAPSHOTS)) as api:
        await _projects_covered_are_kept(api)


async def _projects_covered_are_kept(api: Harness) -> None:
    now = datetime.now(UTC)
    token = await create(api, "Acme CI")
    api.service.max_age = None  # an import of history, as the backfill does
    await api.service.report(
        "Acme CI",
        [
            new_result("openstack/nova", now - timedelta(hours=1)),
            new_result("openstack/cinder", now - timedelta(days=40)),
        ],
    )
    await api.service.report("Acme CI", [new_result("openstack/nova", now - timedelta(days=60))])
    async with api.service.engine.connect() as connection:
        rows = await connection.execute(select(account_projects))
        kept = {row.project: row.last_reported_at for row in rows}
    assert kept["openstack/nova"] > now - timedelta(hours=2)  # not moved back by the import
    assert kept["openstack/cinder"] < now - timedelta(days=39)
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert row["projects"] == ["openstack/nova"]  # cinder: 40 days ago, outside the window
    posted = await api.http.post(
        "/api/v1/results", json=RESULT | {"project": "openstack/cinder"}, headers=bearer(token)
    )
    assert posted.status_code == 201, posted.text
    (row,) = (await api.http.get("/json/health")).json()["rows"]
    assert row["projects"] == ["openstack/cinder", "openstack/nova"]


def new_result(project: str, moment: datetime) -> NewResult:
    return NewResult(
        project=project,
        change=5,
        patchset=1,
        job="unit",
        value=ResultValue.PASSED,
        reported_at=moment,
    )


async def test_a_ci_on_many_projects_lists_twelve_counts_all_and_filters_on_any(
    api: Harness,
) -> None:
    now = datetime.now(UTC)
    await create(api, "Wide CI")
    await create(api, "Narrow CI")
    wide = [new_result(f"openstack/p{n:02d}", now - timedelta(minutes=n)) for n in range(15)]
    await api.service.report("Wide CI", wide)
    await api.service.report("Narrow CI", [new_result("openstack/nova", now)])
    rows = {r["account"]: r for r in (await api.http.get("/json/health")).json()["rows"]}
    assert rows["Wide CI"]["project_count"] == 15
    assert rows["Wide CI"]["projects"] == [f"openstack/p{n:02d}" for n in range(12)]
    assert rows["Narrow CI"]["projects"] == ["openstack/nova"]
    # The filter finds a project past the twelve listed, and lists it first.
    found = (await api.http.get("/json/health?project=P14")).json()
    (row,) = found["rows"]
    assert row["account"] == "Wide CI"
    assert row["projects"][0] == "openstack/p14"
    assert row["project_count"] == 15
    assert "openstack/p14" in found["projects"]  # the filter's suggestions


async def test_the_table_is_a_snapshot_refreshed_when_the_store_moves(store_url: str) -> None:
    """A reader after a write is served the snapshot at once and the write starts its
    refresh: a result, an account's change and a merge each move the store's version."""
    policy = SnapshotPolicy(recheck_after=0, refresh_after=60, max_age=600)
    async with harness(store_url, pages=PagesSettings(health_snapshots=policy)) as api:
        token = await create(api, "Acme CI")
        (first,) = (await api.http.get("/json/health")).json()["rows"]
        assert first["results_30d"] == 0
        posted = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
        assert posted.status_code == 201, posted.text
        (served,) = (await api.http.get("/json/health")).json()["rows"]
        assert served["results_30d"] == 0  # the snapshot, while its refresh runs
        await until_row(api, lambda row: row["results_30d"] == 1)
        assert (await api.http.get("/health")).text.count("Acme CI") >= 1
        changed = await api.http.post("/api/v1/accounts/Acme CI/disable", headers=ADMIN)
        assert changed.status_code == 200, changed.text
        await until_row(api, lambda row: not row["enabled"])
        merged = {"merges": [merge(RESULT["change"], RESULT["patchset"])]}
        assert (await api.http.post("/api/v1/merges", json=merged, headers=ADMIN)).is_success
        await until_row(api, lambda row: row["merged_votes"] == 1)


async def until_row(api: Harness, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Reads the table until its one row is as `wanted` (the refresh runs behind)."""
    for _ in range(100):
        (row,) = (await api.http.get("/json/health")).json()["rows"]
        if wanted(row):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the table never showed the change: {row}")


async def test_an_uptime_checker_sending_head_gets_the_pages_heads(api: Harness) -> None:
    await create(api, "Acme CI")
    for path in ("/health", "/json/health", "/api/v1/accounts"):
        got = await api.http.get(path)
        head = await api.http.head(path)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-length"] == got.headers["content-length"], path
