"""The results service layer on SQLite and PostgreSQL: writes, history, current, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncssh
import pytest

from crosscheck.model.results import ResultValue
from crosscheck.results.errors import (
    AccountDisabledError,
    AccountExistsError,
    AccountNotFoundError,
    InvalidInputError,
    NotAllowedError,
    RateLimitedError,
)
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from tests.integration.results.helpers import (
    REVISION,
    daily_count_total,
    new_result,
    stored_count,
)


async def test_a_report_is_stored_with_every_field(service: ResultsService) -> None:
    await service.accounts.create("Nova CI", allowed_projects=["openstack/*"])
    item = new_result(
        branch="master",
        revision=REVISION,
        voting=False,
        category="cinder",
        rerun=True,
        comment="<b>ok</b>",
    )
    (stored,) = await service.report("Nova CI", [item])
    (read,) = await service.change_results(1234)
    assert read == stored
    assert (read.account, read.project, read.change, read.patchset) == (
        "Nova CI",
        "openstack/nova",
        1234,
        1,
    )
    assert (read.branch, read.revision, read.voting, read.rerun) == (
        "master",
        REVISION,
        False,
        True,
    )
    assert (read.category, read.comment, read.duration) == ("cinder", "<b>ok</b>", 90.0)
    assert read.reported_at.tzinfo is not None
    assert len(read.uuid) == 32


async def test_a_re_report_is_a_new_row_and_the_newest_is_current(
    service: ResultsService,
) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    await service.report("a", [new_result(value=ResultValue.FAILED, reported_at=start)])
    await service.report("b", [new_result(value=ResultValue.FAILED, reported_at=start)])
    await service.report(
        "a", [new_result(value=ResultValue.PASSED, reported_at=start + timedelta(hours=1))]
    )
    # Reported late but produced earlier: history, not current.
    await service.report(
        "a", [new_result(value=ResultValue.UNSTABLE, reported_at=start - timedelta(hours=1))]
    )
    history = await service.change_results(1234, current=False)
    assert len(history) == 4
    assert [r.value for r in history if r.account == "a"] == [
        ResultValue.UNSTABLE,
        ResultValue.FAILED,
        ResultValue.PASSED,
    ]
    current = await service.change_results(1234)
    assert {(r.account, r.value) for r in current} == {
        ("a", ResultValue.PASSED),
        ("b", ResultValue.FAILED),
    }
    failed = await service.change_results(1234, failed_only=True)
    assert [(r.account, r.value) for r in failed] == [("b", ResultValue.FAILED)]


async def test_filters_on_patchset_account_and_job(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    await service.report("a", [new_result(patchset=1), new_result(patchset=2, job="unit")])
    await service.report("b", [new_result(patchset=2), new_result(change=99)])
    assert len(await service.change_results(1234)) == 3
    assert {r.job for r in await service.change_results(1234, patchset=2)} == {
        "unit",
        "tempest-full",
    }
    assert [r.account for r in await service.change_results(1234, account="b")] == ["b"]
    assert [r.patchset for r in await service.change_results(1234, job="unit")] == [2]
    assert [r.change for r in await service.change_results(99)] == [99]
    assert await service.change_results(1234, account="nobody") == []


async def test_a_disabled_account_is_refused_and_nothing_is_stored(
    service: ResultsService,
) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.set_enabled("a", False, reason="spamming votes")
    with pytest.raises(AccountDisabledError, match=r"'a' is disabled \(spamming votes\)"):
        await service.report("a", [new_result()])
    assert await stored_count(service) == 0
    await service.accounts.set_enabled("a", True)
    await service.report("a", [new_result()])
    assert await stored_count(service) == 1


async def test_a_batch_with_one_disallowed_project_stores_nothing(
    service: ResultsService,
) -> None:
    await service.accounts.create("a", allowed_projects=["openstack/*", "^x/(y|z)$"])
    batch = [new_result(), new_result(project="x/z"), new_result(project="other/thing")]
    with pytest.raises(NotAllowedError) as caught:
        await service.report("a", batch)
    assert caught.value.problems == [
        (
            "[2].project",
            "CI account 'a' may not report on project 'other/thing' "
            "(allowed: openstack/*, ^x/(y|z)$)",
        )
    ]
    assert await stored_count(service) == 0
    assert await daily_count_total(service) == 0


async def test_naming_another_account_is_refused(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    with pytest.raises(NotAllowedError, match=r"\[1\]\.ci: the credentials are CI account 'a'"):
        await service.report("a", [new_result(), new_result()], claimed=["a", "b"])
    assert await stored_count(service) == 0


async def test_malformed_items_are_located_and_nothing_is_stored(
    service: ResultsService,
) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    batch = [
        new_result(),
        new_result(url="javascript:alert(1)", duration=-1.0),
        new_result(revision="abc", reported_at=datetime.now(UTC) + timedelta(days=2)),
    ]
    with pytest.raises(InvalidInputError) as caught:
        await service.report("a", batch)
    assert [where for where, _ in caught.value.problems] == [
        "[1].url",
        "[1].duration",
        "[2].revision",
        "[2].reported_at",
    ]
    assert await stored_count(service) == 0
    with pytest.raises(InvalidInputError, match="at least one result"):
        await service.report("a", [])


async def test_an_unknown_account_cannot_report(service: ResultsService) -> None:
    with pytest.raises(AccountNotFoundError):
        await service.report("ghost", [new_result()])


async def test_rate_limited_per_account(store_url: str) -> None:
    engine = await open_store(store_url)
    try:
        service = ResultsService(engine, limiter=RateLimiter(rate=0.001, burst=2))
        await service.accounts.create("a", allowed_projects=["*"])
        await service.accounts.create("b", allowed_projects=["*"])
        await service.report("a", [new_result()])
        await service.report("a", [new_result()])
        with pytest.raises(RateLimitedError) as caught:
            await service.report("a", [new_result()])
        assert caught.value.retry_after > 100
        await service.report("b", [new_result()])  # another account's bucket
        assert await stored_count(service) == 3
    finally:
        await engine.dispose()


async def test_tokens_find_their_account_until_rotated(service: ResultsService) -> None:
    account, token = await service.accounts.create("a", owner="ops@example.org")
    assert token.startswith("ccr_")
    assert len(token) > 40
    found = await service.accounts.by_token(token)
    assert found is not None
    assert found.name == "a"
    assert found.owner == "ops@example.org"
    assert await service.accounts.by_token(token + "x") is None
    new_token = await service.accounts.rotate_token("a")
    assert await service.accounts.by_token(token) is None
    assert (await service.accounts.by_token(new_token)) == account


async def test_account_names_and_patterns_are_checked(service: ResultsService) -> None:
    with pytest.raises(InvalidInputError, match="name"):
        await service.accounts.create("a:b")
    with pytest.raises(InvalidInputError, match=r"allowed_projects\[1\].*invalid"):
        await service.accounts.create("a", allowed_projects=["ok/*", "^(unclosed"])
    await service.accounts.create("a")
    with pytest.raises(AccountExistsError):
        await service.accounts.create("a")
    assert [a.name for a in await service.accounts.list_accounts()] == ["a"]


async def test_ssh_keys_identify_one_account(service: ResultsService) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="ci@lab")
    public = key.export_public_key("openssh").decode()
    await service.accounts.create("a")
    await service.accounts.create("b")
    added = await service.accounts.add_ssh_key("a", public)
    assert added.fingerprint.startswith("SHA256:")
    assert added.comment == "ci@lab"
    assert [k.fingerprint for k in await service.accounts.ssh_keys("a")] == [added.fingerprint]
    found = await service.accounts.by_ssh_key(key.convert_to_public())
    assert found is not None
    assert found.name == "a"
    other = asyncssh.generate_private_key("ssh-ed25519")
    assert await service.accounts.by_ssh_key(other.convert_to_public()) is None
    with pytest.raises(AccountExistsError, match="one account"):
        await service.accounts.add_ssh_key("b", public)
    with pytest.raises(InvalidInputError, match="OpenSSH public key"):
        await service.accounts.add_ssh_key("b", "ssh-rsa garbage")


async def test_account_history_pages_newest_first(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    start = datetime(2024, 5, 1, tzinfo=UTC)
    await service.report(
        "a", [new_result(change=n, reported_at=start + timedelta(minutes=n)) for n in range(1, 6)]
    )
    first = await service.account_results("a", limit=2)
    assert [r.change for r in first] == [5, 4]
    second = await service.account_results("a", limit=2, before=first[-1].reported_at)
    assert [r.change for r in second] == [3, 2]


async def test_where_a_change_or_revision_is(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.report("a", [new_result(patchset=3, revision=REVISION)])
    assert await service.project_of_change(1234) == "openstack/nova"
    assert await service.project_of_change(1) is None
    assert await service.latest_patchset(1234) == 3
    assert await service.latest_patchset(1) is None
    assert await service.patchset_of_revision(REVISION) == ("openstack/nova", 1234, 3)
    assert await service.patchset_of_revision("b" * 40) is None
