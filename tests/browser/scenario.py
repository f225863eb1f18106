"""The results the browser tests see: healthy, flaky, silent, disabled and hostile CIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results import records
from crosscheck.results.accounts import account_id_of
from crosscheck.results.service import ResultsService
from crosscheck.store.tables import ci_accounts
from crosscheck.web import PagesSettings

NOVA = "openstack/nova"
MATRIX_CHANGE = 1001
HOSTILE_CHANGE = 2002
PAGE_SIZE = 5

SETTINGS = PagesSettings(
    expected_cis=ExpectedCIs(((NOVA, ("Acme CI", "Flaky CI")), ("openstack/*", ("Ghost CI",)))),
    page_size=PAGE_SIZE,
)

#: Each would set window.pwned if a page let it run.
SCRIPT_JOB = "<script>window.pwned='job'</script>"
IMG_JOB = "<img src=x onerror=\"window.pwned='img-job'\">"
COMMENT = "</div><script>window.pwned='comment'</script><img src=x onerror=\"window.pwned='img'\">"
QUOTE_URL = "https://logs.example/\"><script>window.pwned='url'</script>"
JS_URL = "javascript:window.pwned='href'"
JS_INFO_URL = "javascript:window.pwned='info'"
HOSTILE_PROJECT = "openstack/<svg onload=\"window.pwned='project'\">"


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
    await accounts.create("Acme CI", allowed_projects=["*"], info_url="https://acme.example/ci")
    await accounts.create("Flaky CI", allowed_projects=["*"])
    await accounts.create("Silent CI", allowed_projects=["*"])
    await accounts.create("Disabled CI", allowed_projects=["*"])
    await accounts.create("Evil CI", allowed_projects=["*"])
    await accounts.set_enabled("Disabled CI", False, "retired")
    await _matrix(service, now)
    await _history(service, now)
    await _hostile(service, now)


async def _matrix(service: ResultsService, now: datetime) -> None:
    earlier = now - timedelta(hours=2)
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
    await service.report("Acme CI", items)


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
        await connection.execute(
            update(ci_accounts).where(ci_accounts.c.id == account_id).values(info_url=JS_INFO_URL)
        )
