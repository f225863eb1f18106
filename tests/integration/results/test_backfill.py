"""Backfill against a fake Gerrit (paging, mapping, dates, re-runs), on SQLite and PostgreSQL.

The same path runs against the real sandbox Gerrit in tests/e2e/test_backfill.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.results import ResultValue
from crosscheck.results.backfill import Backfill, BackfillOptions, gerrit_time
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from crosscheck.store.tables import merged_changes
from tests.fakes.gerrit import Account, Change, FakeGerrit, Message, Revision

SHA1, SHA2 = "1" * 40, "2" * 40
SINCE = datetime(2024, 5, 1, tzinfo=UTC)


ACME_CI = Account(2001, "acme-ci")
JANE = Account(2002, "jane")
OTHER_CI = Account(2003, "other-ci", tags=("SERVICE_USER",))  # Gerrit's tag on service users


def message(id_: str, author: Account, date: str, patchset: int, text: str) -> Message:
    return Message(author.account_id, text, patchset, date, message_id=id_)


def change(number: int, messages: list[Message], **fields: Any) -> Change:
    revisions = [Revision(1, SHA1), Revision(2, SHA2)]
    return Change(number, "openstack/nova", revisions, messages=messages, **fields)


def changes() -> list[Change]:
    return [
        change(
            11,
            [
                message("m1", ACME_CI, "2024-05-02 10:00:00.000000000", 1,
                        "Build failed (check pipeline).\n\n"
                        "- unit https://logs/1 : FAILURE in 1m 00s\n"
                        "- lint https://logs/2 : SUCCESS in 5s (non-voting)\n"),
                message("m2", ACME_CI, "2024-05-02 11:00:00.500000000", 1,
                        "Build succeeded (check pipeline).\n\n- unit https://logs/3 : SUCCESS\n"),
                message("m3", JANE, "2024-05-02 12:00:00.000000000", 1,
                        "- unit https://logs/x : SUCCESS\n"),
                message("m0", ACME_CI, "2024-04-01 00:00:00.000000000", 1,
                        "- old https://logs/o : SUCCESS\n"),
            ],
            updated="2024-05-06 09:00:00.000000000",  # a reviewer added since: the newest change
        ),
        change(
            12,
            [
                message("m4", OTHER_CI, "2024-05-03 09:00:00.000000000", 2,
                        "- tempest https://logs/t : TIMED_OUT in 2h 00m 00s\n"
                        "- odd https://logs/o : WOBBLY\n"),
            ],
            status="MERGED",  # at patchset 2, its current one
            submitted="2024-05-04 08:00:00.000000000",
        ),
    ]  # fmt: skip


def fake_gerrit(groups: dict[str, list[str]] | None = None) -> FakeGerrit:
    """The two changes, paged as Gerrit pages a change query; `groups` are the readable
    groups' members (others answer 404, as Gerrit does to who may not see them)."""
    readable = groups if groups is not None else {"Service Users": ["acme-ci"]}
    return FakeGerrit(changes(), accounts=[ACME_CI, JANE, OTHER_CI], groups=readable)


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    store = await open_store(store_url)
    yield store
    await store.dispose()


async def backfill(engine: AsyncEngine, fake: FakeGerrit, options: BackfillOptions) -> Any:
    async with fake.rest("https://gerrit.example") as rest:
        return await Backfill(engine, rest, "https://gerrit.example/").run(options)


async def test_ci_messages_become_results_once(engine: AsyncEngine) -> None:
    fake = fake_gerrit()
    mapping = {"acme-ci": "Acme CI", "other-ci": "Other CI"}
    options = BackfillOptions(since=SINCE, accounts=mapping, page_size=1)
    report = await backfill(engine, fake, options)
    assert report.changes == 2
    assert (report.imported, report.results, report.already) == (3, 4, 0)
    assert report.accounts_created == ["Acme CI", "Other CI"]
    ((where, why),) = report.skipped
    assert where == "change 12 message m4"
    assert why.startswith("unknown result WOBBLY")
    assert why.endswith(": - odd https://logs/o : WOBBLY")
    assert [q["S"] for q in fake.queries] == ["0", "1"]
    assert fake.queries[0]["q"] == 'after:"2024-05-01 00:00:00"'
    assert fake.queries[0].get_list("o") == ["MESSAGES", "ALL_REVISIONS", "DETAILED_ACCOUNTS"]

    service = ResultsService(engine)
    history = await service.change_results(11, current=False)
    assert [(r.account, r.job, r.value, r.rerun) for r in history] == [
        ("Acme CI", "unit", ResultValue.FAILED, False),
        ("Acme CI", "lint", ResultValue.PASSED, False),
        ("Acme CI", "unit", ResultValue.PASSED, True),
    ]
    first = history[0]
    assert first.revision == SHA1
    assert first.branch == "master"
    assert first.category == "check"
    assert first.duration == 60.0
    assert first.url == "https://logs/1"
    assert first.reported_at == datetime(2024, 5, 2, 10, tzinfo=UTC)
    assert history[1].voting is False
    (tempest,) = await service.change_results(12)
    assert (tempest.account, tempest.patchset, tempest.revision) == ("Other CI", 2, SHA2)
    assert tempest.value is ResultValue.FAILED
    assert tempest.duration == 7200.0

    again = await backfill(engine, fake_gerrit(), options)
    assert (again.imported, again.results, again.already) == (0, 0, 3)
    assert len(await service.change_results(11, current=False)) == 3
    assert (await service.account_statistics("Acme CI")).last_seen == gerrit_time(
        "2024-05-02 11:00:00.500000000"
    )


async def test_merged_changes_are_recorded_at_their_current_patchset(engine: AsyncEngine) -> None:
    options = BackfillOptions(since=SINCE, accounts={"other-ci": "Other CI"}, page_size=1)
    for _ in range(2):  # a re-run records the same merge again, changing nothing
        report = await backfill(engine, fake_gerrit(), options)
        assert report.merges == 1
        async with engine.connect() as connection:
            rows = list(await connection.execute(select(merged_changes)))
        assert [(r.change_number, r.project, r.patchset) for r in rows] == [
            (12, "openstack/nova", 2)
        ]
        assert rows[0].merged_at == datetime(2024, 5, 4, 8, tzinfo=UTC)


async def test_without_a_mapping_only_gerrits_service_users_count(engine: AsyncEngine) -> None:
    # Changed on purpose (issue 12): jane, a person writing a job line, is no CI account.
    report = await backfill(engine, fake_gerrit(), BackfillOptions(since=SINCE, page_size=1))
    assert sorted(report.accounts_created) == ["acme-ci", "other-ci"]  # a member; a tag
    assert report.results == 4
    assert report.service_users == frozenset({"acme-ci"})
    assert report.not_ci == {"jane": 1}
    assert {a.name for a in await ResultsService(engine).accounts.list_accounts()} == {
        "acme-ci",
        "other-ci",
    }


async def test_a_person_quoting_a_ci_creates_no_ci_account(engine: AsyncEngine) -> None:
    """Without readable groups, only SERVICE_USER tags count: a quoted SUCCESS line
    (a "recheck" comment) by a person imports nothing."""
    fake = fake_gerrit(groups={})
    report = await backfill(engine, fake, BackfillOptions(since=SINCE, page_size=1))
    assert report.service_users is None
    assert report.accounts_created == ["other-ci"]
    assert report.not_ci == {"acme-ci": 2, "jane": 1}
    assert await ResultsService(engine).change_results(11) == []


async def test_until_and_mapping_limit_what_is_imported(engine: AsyncEngine) -> None:
    options = BackfillOptions(
        since=SINCE,
        until=datetime(2024, 5, 2, 10, 30, tzinfo=UTC),
        accounts={"acme-ci": "Acme CI"},
        page_size=1,
    )
    fake = fake_gerrit()
    report = await backfill(engine, fake, options)
    assert (report.imported, report.results) == (1, 2)
    # Changes updated after --until may hold messages before it: messages are filtered.
    assert fake.queries[0]["q"] == 'after:"2024-05-01 00:00:00"'


def test_gerrit_times_keep_microseconds() -> None:
    assert gerrit_time("2024-05-02 11:00:00.123456789") == datetime(
        2024, 5, 2, 11, 0, 0, 123456, tzinfo=UTC
    )
    assert gerrit_time("2024-05-02 11:00:00") == datetime(2024, 5, 2, 11, tzinfo=UTC)
