"""`crosscheck promotion status`: the configured levels, and what the store's pointers hold."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.model.candidate import Candidate, CandidateOrigin
from crosscheck.store import open_store
from crosscheck.store import promotion as promotion_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "opnfv-promotion"
SCENARIO = "os-nosdn-nofeature"


def promoted(url: str, level: str, hours_ago: int) -> str:
    """A candidate of the example's first scenario, promoted to `level`; its id."""
    candidate = Candidate(SCENARIO, {"nova": "a" * 40, "neutron": "b" * 40})
    at = datetime.now(UTC) - timedelta(hours=hours_ago)

    async def write() -> None:
        engine = await open_store(url)
        try:
            async with engine.begin() as db:
                await promotion_store.record_candidate(db, candidate, CandidateOrigin.MERGE, at)
                assert await promotion_store.promote(
                    db, SCENARIO, level, candidate.id, by="criteria", evidence={}, at=at
                )
        finally:
            await engine.dispose()

    asyncio.run(write())
    return candidate.id


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["promotion", "status", "-c", str(EXAMPLE), *args])
    return result.exit_code, result.output


def test_each_level_shows_its_candidate_or_that_it_waits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    held = promoted(url, "verified", hours_ago=3)
    code, out = run("--database", url)
    assert code == 0, out
    first = next(line for line in out.splitlines() if SCENARIO in line)
    assert f"verified: {held[:12]} (3h ago)" in first
    assert "daily: no candidate yet" in first
    assert "os-odl-nofeature" in out


def test_json_names_every_level_with_its_pointer(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    held = promoted(url, "verified", hours_ago=1)
    code, out = run("--database", url, "--json")
    assert code == 0, out
    scenarios = {s["name"]: s["levels"] for s in json.loads(out)["scenarios"]}
    levels = {level["level"]: level for level in scenarios[SCENARIO]}
    assert list(levels) == ["verified", "daily", "weekly", "release"]
    assert (levels["verified"]["candidate"], levels["verified"]["generation"]) == (held, 1)
    assert levels["daily"]["candidate"] is None


def test_a_broken_configuration_is_refused_with_its_errors(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yaml"
    broken.write_text("- scenario: {name: s, components: [], levels: []}\n")
    result = CliRunner().invoke(main, ["promotion", "status", "-c", str(broken)])
    assert result.exit_code == 1
    assert "ci.yaml:1:" in result.output


def test_status_never_makes_nor_migrates_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    code, out = run("--database", f"sqlite+aiosqlite:///{missing}")
    assert code == 1
    assert f"no store at sqlite+aiosqlite:///{missing}: crosscheck serve makes it" in out
    assert not missing.exists()
    older = tmp_path / "older.db"
    sqlite3.connect(older).execute("CREATE TABLE items (id INTEGER)").connection.close()
    code, out = run("--database", f"sqlite+aiosqlite:///{older}")
    assert code == 1
    assert "has no level_pointers table yet" in out
    tables = sqlite3.connect(older).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("items",)]
