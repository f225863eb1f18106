"""The results the browser tests see: healthy, flaky, silent, disabled and hostile CIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results import records
from crosscheck.results.accounts import account_id_of
from crosscheck.results.merges import Merge, record_merge
from crosscheck.results.service import ResultsService
from crosscheck.store.tables import ci_accounts
from crosscheck.web import PagesSettings

NOVA = "openstack/nova"
MATRIX_CHANGE = 1001
HOSTILE_CHANGE = 2002
PAGE_SIZE = 5

GERRIT = "https://review.example.org"
SETTINGS = PagesSettings(
    expected_cis=ExpectedCIs(((NOVA, ("Acme CI", "Flaky CI")), ("openstack/*", ("Ghost CI",)))),
    gerrit_url=GERRIT,
    page_size=PAGE_SIZE,
)
#: Plots at both ends: a CI with one day of results, one with a year of them.
ONE_DAY_CI = "One Day CI"
YEAR_CI = "Year CI"
#: Acme CI's latest run, linked from the health table.
ACME_LATEST_URL = "https://acme.example/logs/latest"
ACME_LATEST_CHANGE = 1500

#: Each would set window.pwned if a page let it run.
SCRIPT_JOB = "<script>window.pwned='job'</script>"
IMG_JOB = "<img src=x onerror=\"window.pwned='img-job'\">"
COMMENT = "</div><script>window.pwned='comment'</script><img src=x onerror=\"window.pwned='img'\">"
QUOTE_URL = "https://logs.example/\"><script>window.pwned='url'</script>"
JS_URL = "javascript:window.pwned='href'"
JS_INFO_URL = "javascript:window.pwned='info'"
HOSTILE_PROJECT = "openstack/<svg onload=\"window.pwned='project'\">"
HOSTILE_DRIVER = "<img src=x onerror=\"window.pwned='driver'\">"
HOSTILE_OWNER = "<b onmouseover=\"window.pwned='owner'\">Evil</b>"
HOSTILE_CONTACT = "javascript:window.pwned='contact'"


def result(change: int, patchset: int, job: str, value: ResultValue, **extra: Any) -> NewResult:
    return NewResult(
        project=extra.pop("project", NOVA),
        change=change,
        patchset=patchset,
        job=job,
        value=value,
        **extra,
    )


async def seed(service: ResultsService) -> None:
    now = datetime.now(UTC)
    accounts = service.accounts
    await accounts.create(
        "Acme CI",
        allowed_projects=["*"],
        info_url="https://acme.example/ci",
        driver="Acme FlashArray Cinder driver",
        owner="Acme storage team",
        contact="ci@acme.example",
    )
    await accounts.create(
        "Flaky CI",
        allowed_projects=["*"],
        driver="Flaky NFS driver",
        contact="https://flaky.example/ci",
    )
    await accounts.create("Silent CI", allowed_projects=["*"])
    await accounts.create("Disabled CI", allowed_projects=["*"])
    await accounts.create("Evil CI", allowed_projects=["*"])
    await accounts.create(ONE_DAY_CI, allowed_projects=["*"], driver="Ceph RBD")
    await accounts.create(YEAR_CI, allowed_projects=["*"], driver="LVM reference")
    await accounts.set_enabled("Disabled CI", False, "retired")
    await _matrix(service, now)
    await _history(service, now)
    await _hostile(service, now)
    await _plots(service, now)
    await _merges(service, now)
    # Reported last, so it is Acme CI's latest run.
    latest = result(ACME_LATEST_CHANGE, 3, "tempest-full", ResultValue.PASSED, url=ACME_LATEST_URL)
    await service.report("Acme CI", [latest])


async def _matrix(service: ResultsService, now: datetime) -> None:
    # Two hours back, but never across midnight UTC: the plot counts one point per day.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = max(midnight, now - timedelta(hours=2))
    passed, failed = ResultValue.PASSED, ResultValue.FAILED
    await service.report(
        "Acme CI",
        [
            result(MATRIX_CHANGE, 1, "tempest-full", failed, reported_at=earlier),
            result(MATRIX_CHANGE, 1, "tempest-full", passed, rerun=True),
            result(
                MATRIX_CHANGE,
                2,
                "tempest-full",
                passed,
                url="https://acme.example/logs/1001/2",
                duration=3723,
            ),
            result(MATRIX_CHANGE, 2, "grenade", failed, voting=False, duration=62),
        ],
    )
    flaky = [result(MATRIX_CHANGE, 1, "unit", failed)]
    flaky += [result(3000 + i, 1, "unit", failed) for i in range(3)]
    flaky += [result(3100, 1, "unit", passed)]
    await service.report("Flaky CI", flaky)
    await service.report(
        "Silent CI", [result(4000, 1, "smoke", passed, reported_at=now - timedelta(days=3))]
    )


async def _history(service: ResultsService, now: datetime) -> None:
    """Acme CI's results over ten days: a plot with points and a history of several pages."""
    items = [
        result(
            5000 + day,
            1,
            "nightly",
            ResultValue.FAILED if day % 3 == 0 else ResultValue.PASSED,
            reported_at=now - timedelta(days=day, hours=1),
        )
        for day in range(1, 11)
    ]
    # Covers more projects than the table lists in full.
    items += [
        result(5100 + i, 1, "nightly", ResultValue.PASSED, project=f"openstack/p{i}")
        for i in range(4)
    ]  # fmt: skip
    await _import(service, "Acme CI", items, now)


async def _import(
    service: ResultsService, account: str, items: list[NewResult], now: datetime
) -> None:
    """As the backfill imports history: past the API's limit on old results."""
    async with service.engine.begin() as connection:
        account_id = await account_id_of(connection, account)
        await records.insert_results(connection, account_id, account, items, now)


async def _plots(service: ResultsService, now: datetime) -> None:
    one_day = [
        result(6000 + i, 1, "rbd", ResultValue.PASSED if i else ResultValue.FAILED)
        for i in range(4)
    ]
    await service.report(ONE_DAY_CI, one_day)
    # A year up to now, four runs a day: a bad stretch in spring, a bad run most weeks.
    year = [
        result(
            7000 + day,
            run + 1,
            "lvm",
            ResultValue.FAILED if _bad_year_run(day, run) else ResultValue.PASSED,
            reported_at=now - timedelta(days=day, minutes=run),
        )
        for day in range(365)
        for run in range(4)
    ]
    await _import(service, YEAR_CI, year, now)


def _bad_year_run(day: int, run: int) -> bool:
    if 200 < day < 215:
        return run < 3
    return (day % 7 == 3 and run == 0) or (day % 11 == 0 and run == 1)


async def _merges(service: ResultsService, now: datetime) -> None:
    """Change 1001 merged at patchset 2 (Acme passed its voting job there); 3000 at 1."""
    async with service.engine.begin() as connection:
        for change, patchset in ((MATRIX_CHANGE, 2), (3000, 1)):
            await record_merge(connection, Merge(change, NOVA, patchset, now - timedelta(hours=1)))


async def _hostile(service: ResultsService, now: datetime) -> None:
    await service.report(
        "Evil CI",
        [
            result(
                HOSTILE_CHANGE,
                1,
                SCRIPT_JOB,
                ResultValue.FAILED,
                comment=COMMENT,
                url=QUOTE_URL,
                project=HOSTILE_PROJECT,
            ),
            result(HOSTILE_CHANGE, 1, IMG_JOB, ResultValue.PASSED, project=HOSTILE_PROJECT),
        ],
    )
    # The API refuses javascript: URLs (in results and accounts); a row stored before
    # that check (or by a bug) must still never become a link: straight into the store.
    async with service.engine.begin() as connection:
        account_id = await account_id_of(connection, "Evil CI")
        raw = result(
            HOSTILE_CHANGE, 1, "raw-url", ResultValue.PASSED, url=JS_URL, project=HOSTILE_PROJECT
        )
        await records.insert_results(connection, account_id, "Evil CI", [raw], now)
        # The API refuses markup and javascript: in these too; the pages must not rely on it.
        await connection.execute(
            update(ci_accounts)
            .where(ci_accounts.c.id == account_id)
            .values(
                info_url=JS_INFO_URL,
                driver=HOSTILE_DRIVER,
                owner=HOSTILE_OWNER,
                contact=HOSTILE_CONTACT,
            )
        )
