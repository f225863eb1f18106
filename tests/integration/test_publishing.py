"""Publishing promotions on SQLite and PostgreSQL: a level with a publish rule gets, once
its promotion is committed, tags in its components, manifests and a webhook; a failure
puts it off and a later pass finishes it; a level without a rule publishes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.drivers.base import DriverError
from crosscheck.model.candidate import Candidate
from crosscheck.model.promotion import JobCriterion, Level, NewCandidateResult, PublishRule
from crosscheck.model.results import ResultValue
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.promotion.publisher import Publisher, PublishError, ring, shown_url
from crosscheck.results.service import ResultsService
from crosscheck.store import promotion as store
from crosscheck.store import publications
from tests.polling import until

HOOK = "https://hooks.example/promoted"
SCENARIO = Scenario(
    "os-nosdn",
    components=(
        Component("nova", RefKind.BRANCH, "master", connection="os", project="openstack/nova"),
        Component("vpp", RefKind.SHA, "b" * 40, git_url="https://git.fd.io/vpp"),
    ),
    levels=(
        Level("verified", None, (JobCriterion(("unit",)),), ("ci",),
              publish=PublishRule(tag=True, manifest=True, webhook=HOOK,
                                  webhook_secret_env="CROSSCHECK_TEST_HOOK_SECRET")),
        Level("daily", "verified", (JobCriterion(("deploy",)),), ("ci",)),
    ),
)  # fmt: skip


class FakeTagger:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.tags: dict[tuple[str, str], str] = {}

    async def create_tag(self, project: str, name: str, sha: str, message: str) -> None:
        if self.failures:
            self.failures -= 1
            raise DriverError("Gerrit did not answer")
        self.tags[(project, name)] = sha


class Hooks:
    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        self.down = False

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        if self.down:
            raise PublishError(f"webhook {url} answered 503")
        self.posted.append((url, json.loads(body)))
        self.headers.append(headers)


@pytest.fixture
def engine(store: AsyncEngine) -> AsyncEngine:
    return store


async def promoted(engine: AsyncEngine, on_publication: Any = None) -> str:
    service = ResultsService(engine)
    await service.accounts.create("ci")
    candidate = Candidate("os-nosdn", {"nova": "1" * 40, "vpp": "b" * 40})
    async with engine.begin() as db:
        await store.record_candidate(db, candidate, "merge", datetime.now(UTC))
    items = [NewCandidateResult(candidate.id, j, ResultValue.PASSED) for j in ("unit", "deploy")]
    await service.candidates.report("ci", items, now=datetime.now(UTC))
    engine_ = PromotionEngine(engine, lambda: {"os-nosdn": SCENARIO}, on_publication=on_publication)
    assert (await engine_.climb(candidate.id)).promoted == ("verified", "daily")
    return candidate.id


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CROSSCHECK_TEST_HOOK_SECRET", "s3cret-" + "x" * 30)
    return "s3cret-" + "x" * 30


async def test_a_promotion_publishes_tags_manifests_and_a_webhook_once(
    engine: AsyncEngine, tmp_path: Path, hook_secret: str
) -> None:
    woken: list[bool] = []
    candidate = await promoted(engine, on_publication=lambda: woken.append(True))
    assert woken == [True]  # the publisher is woken once the promotion committed
    tagger, hooks = FakeTagger(), Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": tagger}, tmp_path,
                          post=hooks.post)  # fmt: skip
    assert await publisher.publish_due() == 1  # verified only: daily publishes nothing
    [(project, tag)] = tagger.tags
    assert project == "openstack/nova"
    assert tag.startswith("os-nosdn/verified/")
    assert tagger.tags[(project, tag)] == "1" * 40
    current = yaml.safe_load((tmp_path / "os-nosdn" / "verified.yaml").read_text())
    assert json.loads((tmp_path / "os-nosdn" / "verified.json").read_text()) == current
    assert current["candidate"] == candidate
    assert {c["name"]: c["sha"] for c in current["components"]} == {"nova": "1" * 40,
                                                                      "vpp": "b" * 40}  # fmt: skip
    assert [c.get("tag") for c in current["components"]] == [f"refs/tags/{tag}", None]
    assert [url for url, _ in hooks.posted] == [HOOK]
    assert hooks.posted[0][1] == current
    body = json.dumps(current, sort_keys=True).encode()
    expected = "sha256=" + hmac.new(hook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert hooks.headers == [{"X-Crosscheck-Signature": expected}]
    assert await publisher.publish_due() == 0  # published once


async def test_a_failure_puts_it_off_and_a_later_pass_finishes_it(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await promoted(engine)
    tagger, hooks = FakeTagger(failures=1), Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": tagger}, tmp_path,
                          post=hooks.post)  # fmt: skip
    assert await publisher.publish_due() == 0
    assert "trying again in 30s" in caplog.text
    async with engine.connect() as db:
        [record] = await store.history(db, "os-nosdn", "verified")
        assert await publications.state_of(db, record.id) == ("pending", 1, "Gerrit did not answer")
    assert await publisher.publish_due() == 0  # not due yet: nothing retried early
    later = datetime.now(UTC) + timedelta(seconds=31)
    hooks.down = True
    assert await publisher.publish_due(later) == 0  # tagged now, the webhook still away
    hooks.down = False
    assert await publisher.publish_due(datetime.now(UTC) + timedelta(minutes=5)) == 1
    async with engine.connect() as db:
        assert await publications.state_of(db, record.id) == ("done", 2, "")
    assert len(tagger.tags) == 1  # the retries tagged the same tag, at the same commit


async def test_a_demotion_moves_the_current_manifest_and_tells_the_webhook(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    candidate = await promoted(engine)
    tagger, hooks = FakeTagger(), Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": tagger}, tmp_path,
                          post=hooks.post)  # fmt: skip
    assert await publisher.publish_due() == 1
    current = tmp_path / "os-nosdn" / "verified.yaml"
    assert yaml.safe_load(current.read_text())["candidate"] == candidate
    async with engine.begin() as db:  # as `crosscheck promotion demote --clear` writes it
        moved = await store.demote(db, "os-nosdn", "verified", None, by="rm", reason="bad",
                                   at=datetime.now(UTC))  # fmt: skip
        await publications.add_publication(db, moved.id, datetime.now(UTC))
    assert await publisher.publish_due() == 1
    assert not current.exists()  # the level holds nothing: no current manifest
    assert not current.with_suffix(".json").exists()
    kept = yaml.safe_load((tmp_path / "os-nosdn" / "verified" / f"{moved.id}.yaml").read_text())
    assert (kept["kind"], kept["reason"], kept["candidate"]) == ("demote", "bad", None)
    assert [body["kind"] for _, body in hooks.posted] == ["promote", "demote"]
    assert len(tagger.tags) == 1  # an operator's move tags nothing


async def test_a_missing_secret_puts_the_publication_off_and_says_which(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.delenv("CROSSCHECK_TEST_HOOK_SECRET")
    await promoted(engine)
    hooks = Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": FakeTagger()},
                          tmp_path, post=hooks.post)  # fmt: skip
    assert await publisher.publish_due() == 0
    assert hooks.posted == []  # never sent unsigned
    assert "the environment variable CROSSCHECK_TEST_HOOK_SECRET is not set" in caplog.text


def test_a_webhook_is_named_by_its_host_only() -> None:
    assert shown_url("https://hooks.example:8443/t/SECRET?token=x") == "https://hooks.example:8443"


async def test_with_nothing_pending_it_sets_no_timer_and_a_promotion_wakes_it(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": FakeTagger()}, tmp_path,
                          post=hooks.post)  # fmt: skip
    passes: list[int] = []
    publish_due = publisher.publish_due

    async def counted(now: datetime | None = None) -> int:
        passes.append(await publish_due(now))
        return passes[-1]

    monkeypatch.setattr(publisher, "publish_due", counted)
    assert await publisher.until_next() is None  # no publication: no time to wake at
    running = asyncio.create_task(publisher.run())
    try:
        await asyncio.sleep(0.3)
        assert passes == [0]
        await promoted(engine, on_publication=publisher.wake)
        # Published at once, not at a poll.
        await until(lambda: passes == [0, 1], what="the publisher")
        assert [body["kind"] for _, body in hooks.posted] == ["promote"]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_publication_put_off_is_waited_for_until_its_retry(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await promoted(engine)
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": FakeTagger(failures=1)},
                          tmp_path, post=Hooks().post)  # fmt: skip
    assert await publisher.until_next() == 0.0  # due now
    assert await publisher.publish_due() == 0
    wait = await publisher.until_next()
    assert wait is not None
    assert 25 < wait <= 30  # the first retry's delay, not a minute's poll


async def test_the_doorbell_another_process_rings_wakes_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await promoted(engine)
    hooks = Hooks()
    publisher = Publisher(engine, lambda: {"os-nosdn": SCENARIO}, {"os": FakeTagger()}, tmp_path,
                          post=hooks.post)  # fmt: skip
    running = asyncio.create_task(publisher.run())
    try:
        await until(lambda: len(hooks.posted) == 1, what="the publisher")
        await asyncio.sleep(0.2)  # the doorbell's watch is set
        async with engine.begin() as db:  # as `crosscheck promotion demote --clear` writes it
            moved = await store.demote(db, "os-nosdn", "verified", None, by="rm", reason="bad",
                                       at=datetime.now(UTC))  # fmt: skip
            await publications.add_publication(db, moved.id, datetime.now(UTC))
        ring(tmp_path)
        await until(lambda: len(hooks.posted) == 2, what="the publisher")
        assert hooks.posted[1][1]["kind"] == "demote"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
