"""The promotion commands an operator types: candidate create, promotion explain, demote
and rollback, on the example configuration and a store serve made."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.model.promotion import NewCandidateResult
from crosscheck.model.results import ResultValue
from crosscheck.promotion.publisher import DOORBELL
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store, publications
from crosscheck.store import promotion as store

EXAMPLE = Path(__file__).parents[1].parent / "examples" / "opnfv-promotion"
SCENARIO = "os-nosdn-nofeature"
#: Offline: the example's servers do not exist here (pins are checked end to end).
PINS = ("--offline", "--pin", f"nova={'1' * 40}", "--pin", f"openstack/neutron={'2' * 40}",
        "--pin", f"apex={'3' * 40}")  # fmt: skip


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "-c", str(EXAMPLE)])
    return result.exit_code, result.output


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"

    async def make() -> None:
        engine = await open_store(url)  # as serve makes it
        await ResultsService(engine).accounts.create("OPNFV CI")
        await engine.dispose()

    asyncio.run(make())
    return url


def created(url: str, *pins: str) -> str:
    code, out = cli("candidate", "create", "--scenario", SCENARIO, "--database", url, "--json",
                    *pins)  # fmt: skip
    assert code == 0, out
    return str(json.loads(out)["id"])


def passed(url: str, candidate: str, job: str) -> None:
    async def report() -> None:
        engine = await open_store(url)
        item = NewCandidateResult(candidate, job, ResultValue.PASSED, url="https://logs/1")
        await ResultsService(engine).candidates.report("OPNFV CI", [item], now=datetime.now(UTC))
        await engine.dispose()

    asyncio.run(report())


def promote(url: str, level: str, candidate: str) -> None:
    async def move() -> None:
        engine = await open_store(url)
        async with engine.begin() as db:
            now = datetime.now(UTC)
            assert await store.promote(db, SCENARIO, level, candidate, by="criteria",
                                       evidence={}, at=now)  # fmt: skip
        await engine.dispose()

    asyncio.run(move())


def pending_publications(url: str) -> list[object]:
    async def read() -> list[object]:
        engine = await open_store(url)
        async with engine.connect() as db:
            found = await publications.due(db, datetime.now(UTC))
        await engine.dispose()
        return list(found)

    return asyncio.run(read())


def test_candidate_create_pins_each_component_and_records_it_once(url: str) -> None:
    first = created(url, *PINS)
    code, out = cli("candidate", "create", "--scenario", SCENARIO, "--database", url, *PINS)
    assert code == 0, out
    assert out.splitlines()[0] == f"candidate {first} of {SCENARIO} (already recorded)"
    assert "  vpp 0f6b4bfc4ec1a2b2e5c7b6a1c3d8e9f00112233a" in out  # pinned in the config
    assert f"  nova {'1' * 40}" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--pin", "nova"), "write COMPONENT=REF"),
        (("--pin", "nova=x", "--pin", "nova=y"), "nova is pinned twice"),
        (("--pin", "horizon=" + "1" * 40), "no component 'horizon'"),
    ],
)
def test_candidate_create_refuses_a_bad_pin(url: str, args: tuple[str, ...], words: str) -> None:
    code, out = cli("candidate", "create", "--scenario", SCENARIO, "--database", url, *args)
    assert code != 0
    assert words in out


def test_explain_shows_each_criterion_and_its_results(url: str) -> None:
    candidate = created(url, *PINS)
    code, out = cli("promotion", "explain", SCENARIO, "verified", "--database", url)
    assert code == 0, out
    assert f"candidate {candidate[:12]}" in out
    assert "missing  job apex-unit: no passing result yet from OPNFV CI" in out
    passed(url, candidate, "apex-unit")
    code, out = cli("promotion", "explain", SCENARIO, "verified", candidate[:8], "--database", url)
    assert "promotable now" in out
    assert "passed   job apex-unit: apex-unit passed by OPNFV CI (result 1, https://logs/1)" in out
    code, out = cli("promotion", "explain", SCENARIO, "daily", "--database", url, "--json")
    data = json.loads(out)
    assert (data["candidate"], data["holds"]) == (None, None)  # nothing reached verified yet
    promote(url, "verified", candidate)
    code, out = cli("promotion", "explain", SCENARIO, "daily", "--database", url, "--json")
    data = json.loads(out)
    assert data["candidate"] == candidate
    assert [(c["kind"], c["state"]) for c in data["criteria"]] == [
        ("below", "passed"),
        ("job", "missing"),
        ("job", "missing"),
        ("soak", "missing"),
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("nope", "daily"), "no scenario 'nope' (scenarios: os-nosdn-nofeature, os-odl-nofeature)"),
        (
            (SCENARIO, "nightly"),
            "has no level 'nightly' (levels: verified, daily, weekly, release)",
        ),
        ((SCENARIO, "daily", "zz"), "is not a candidate id"),
        ((SCENARIO, "daily", "abcdef12"), "has no candidate abcdef12"),
    ],
)
def test_explain_refuses_what_it_cannot_name(url: str, args: tuple[str, ...], words: str) -> None:
    code, out = cli("promotion", "explain", *args, "--database", url)
    assert code == 1
    assert words in out


def test_demote_and_rollback_keep_their_reason_and_the_pointer_they_replaced(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    doorbell = tmp_path / "state" / "promotions" / DOORBELL
    older = created(url, *PINS)
    newer = created(url, *PINS[:-1], f"apex={'4' * 40}")  # the last pin, replaced
    promote(url, "verified", older)
    promote(url, "verified", newer)
    code, out = cli("promotion", "demote", SCENARIO, "verified", "--to", older[:10], "--reason",
                    "apex 4444 breaks deploys", "--by", "rm", "--database", url)  # fmt: skip
    assert code == 0, out
    assert doorbell.exists()  # rung for serve's publisher, which sets no timer
    assert f"demote to {older[:12]} (held {newer[:12]}) by rm: apex 4444 breaks deploys" in out
    code, out = cli("promotion", "rollback", SCENARIO, "verified", "--reason", "false alarm",
                    "--by", "rm", "--database", url)  # fmt: skip
    assert code == 0, out
    assert f"rollback to {newer[:12]} (held {older[:12]})" in out
    code, out = cli("promotion", "demote", SCENARIO, "verified", "--clear", "--reason", "freeze",
                    "--database", url)  # fmt: skip
    assert "demote to no candidate" in out
    # verified publishes its manifest: serve's publisher gets the three moves to publish.
    assert len(pending_publications(url)) == 3
    code, out = cli("promotion", "demote", SCENARIO, "verified", "--reason", "x", "--database", url)
    assert code == 2
    assert "give --to CANDIDATE or --clear, one of the two" in out
    code, out = cli("promotion", "rollback", SCENARIO, "weekly", "--reason", "x", "--database", url)
    assert code == 1
    assert "weekly never moved: there is nothing to roll back" in out
