"""The promotion API in serve's web app: results on candidates, approvals, the levels'
pointers and explanations, read and written over HTTP as a CI and a release manager do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.loader import load_config
from crosscheck.model.candidate import Candidate
from crosscheck.model.config import Config
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.results.accounts import Accounts
from crosscheck.serve.web_app import web_app
from crosscheck.store import promotion as store

CONFIG = """
- ci: {name: OPNFV CI}
- connection: {name: opnfv, host: gerrit.example, http_url: "https://gerrit.example/", user: ci}
- scenario:
    name: os-nosdn
    components:
      - {name: apex, connection: opnfv, project: opnfv/apex, branch: master}
    levels:
      - {name: verified, jobs: [unit], accounts: [ci-a]}
      - {name: release, below: verified, jobs: [unit], accounts: [ci-a], approvals: rm}
"""
CANDIDATE = Candidate("os-nosdn", {"apex": "a" * 40})


def config_of(tmp_path: Path) -> Config:
    path = tmp_path / "crosscheck.yaml"
    path.write_text(CONFIG)
    result = load_config([path])
    assert result.config is not None, result.errors
    return result.config


@pytest.fixture
async def tokens(engine: AsyncEngine) -> dict[str, str]:
    accounts = Accounts(engine)
    made = {name: (await accounts.create(name))[1] for name in ("ci-a", "ci-b", "rm")}
    async with engine.begin() as db:
        await store.record_candidate(db, CANDIDATE, "operator", datetime.now(UTC))
    return made


@pytest.fixture
async def http(
    tmp_path: Path, engine: AsyncEngine, tokens: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    config = config_of(tmp_path)
    promotion = PromotionEngine(engine, lambda: config.scenarios)
    app = web_app(config, engine, {}, tmp_path / "logs", promotion=promotion)
    task = asyncio.create_task(promotion.run())
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ci.test") as client:
            yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def settled(http: httpx.AsyncClient, level: str) -> dict[str, object]:
    for _ in range(200):
        pointer = (await http.get(f"/api/v1/scenarios/os-nosdn/levels/{level}")).json()
        if pointer["candidate"] is not None:
            return dict(pointer)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{level} never moved")


async def test_a_ci_result_then_an_approval_promote_through_the_api(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    posted = await http.post(
        f"/api/v1/candidates/{CANDIDATE.id}/results",
        json={"results": [{"job": "unit", "value": "SUCCESS", "url": "https://logs/1"}]},
        headers=bearer(tokens["ci-a"]),
    )
    assert posted.status_code == 201, posted.text
    [stored] = posted.json()["results"]
    assert (stored["ci"], stored["value"], stored["candidate"]) == ("ci-a", "passed", CANDIDATE.id)
    verified = await settled(http, "verified")
    assert verified["versions"] == {"apex": "a" * 40}
    explained = (await http.get("/api/v1/scenarios/os-nosdn/levels/release/explain")).json()
    assert explained["candidate"] == CANDIDATE.id
    states = {c["criterion"]: c["state"] for c in explained["criteria"]}
    assert states == {"reached verified": "passed", "job unit": "passed",
                      "1 approval(s) by rm": "missing"}  # fmt: skip
    approved = await http.post(
        f"/api/v1/candidates/{CANDIDATE.id}/approvals",
        json={"level": "release", "comment": "ship it"},
        headers=bearer(tokens["rm"]),
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["recorded"] is True
    await settled(http, "release")
    history = (await http.get("/api/v1/scenarios/os-nosdn/promotions")).json()["promotions"]
    assert [(p["level"], p["by"]) for p in history] == [("release", "criteria"),
                                                        ("verified", "criteria")]  # fmt: skip
    found = (await http.get(f"/api/v1/candidates/{CANDIDATE.id}")).json()
    assert sorted(found["reached"]) == ["release", "verified"]
    scraped = (await http.get("/metrics")).text
    ages = [line for line in scraped.splitlines()
            if line.startswith("crosscheck_promotion_level_age_seconds{")]  # fmt: skip
    assert sorted(line.split("{")[1].split("}")[0] for line in ages) == [
        'level="release",scenario="os-nosdn"',
        'level="verified",scenario="os-nosdn"',
    ]
    assert all(0 <= float(line.rsplit(" ", 1)[1]) < 60 for line in ages)
    assert 'crosscheck_promotions_total{level="release",scenario="os-nosdn"}' in scraped
    listing = (await http.get("/api/v1/scenarios")).json()["scenarios"]
    assert [lv["candidate"] for lv in listing[0]["levels"]] == [CANDIDATE.id, CANDIDATE.id]


async def test_writes_are_authenticated_and_authorised(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    body = {"results": [{"job": "unit", "value": "passed"}]}
    path = f"/api/v1/candidates/{CANDIDATE.id}/results"
    assert (await http.post(path, json=body)).status_code == 401
    wrong = await http.post(path, json=body, headers=bearer("not-a-token"))
    assert wrong.status_code == 401
    approval = f"/api/v1/candidates/{CANDIDATE.id}/approvals"
    refused = await http.post(approval, json={"level": "release"}, headers=bearer(tokens["ci-a"]))
    assert refused.status_code == 403
    assert "its approvers are rm" in refused.json()["detail"]
    none = await http.post(approval, json={"level": "verified"}, headers=bearer(tokens["rm"]))
    assert none.status_code == 422
    assert "takes no approvals" in none.json()["detail"]
    claimed = await http.post(
        path,
        json={"results": [{"job": "unit", "value": "passed", "ci": "ci-b"}]},
        headers=bearer(tokens["ci-a"]),
    )
    assert claimed.status_code == 403
    assert claimed.json()["errors"][0]["field"] == "results[0].ci"
    # A body that is not JSON is judged after the credentials too.
    broken = {"Content-Type": "application/json"}
    for where in (path, approval):
        stranger = await http.post(where, content=b"{not json", headers=broken)
        assert stranger.status_code == 401
        allowed = await http.post(
            where, content=b"{not json", headers=broken | bearer(tokens["rm"])
        )
        assert allowed.status_code == 422
    # Nothing of the refused writes was kept.
    assert (await http.get(path)).json()["results"] == []


async def test_bad_requests_say_where(http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    unknown = "f" * 64
    missing = await http.post(
        f"/api/v1/candidates/{unknown}/results",
        json={"results": [{"job": "unit", "value": "passed"}]},
        headers=bearer(tokens["ci-a"]),
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "results[0].candidate"
    malformed = await http.post(
        "/api/v1/candidates/xyz/results",
        json={"results": [{"job": "unit", "value": "passed"}]},
        headers=bearer(tokens["ci-a"]),
    )
    assert malformed.status_code == 422
    bad = await http.post(
        f"/api/v1/candidates/{CANDIDATE.id}/results",
        json={"results": [{"job": "", "value": "passed", "url": "javascript:alert(1)"}]},
        headers=bearer(tokens["ci-a"]),
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"results[0].job", "results[0].url"}
    level = await http.get("/api/v1/scenarios/os-nosdn/levels/nightly")
    assert level.status_code == 404
    assert "levels: verified, release" in level.json()["detail"]
    assert (await http.get("/api/v1/scenarios/nope/promotions")).status_code == 404
    assert (await http.get(f"/api/v1/candidates/{unknown}")).status_code == 404
    assert (await http.get("/api/v1/scenarios/os-nosdn/releases")).json() == {"releases": []}
    release = await http.get("/api/v1/scenarios/os-nosdn/releases/2026.1")
    assert release.status_code == 404
    assert "has no release '2026.1'" in release.json()["detail"]


async def test_the_pages_show_the_board_a_timeline_and_a_candidate(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    body = {"results": [
        {"job": "unit", "value": "passed"},
        {"job": "<img src=x onerror=alert(1)>", "value": "failed",
         "url": 'https://ci.example/"><script>alert(2)</script>',
         "comment": "<script>alert(3)</script>"},
    ]}  # fmt: skip
    posted = await http.post(f"/api/v1/candidates/{CANDIDATE.id}/results", json=body,
                             headers=bearer(tokens["ci-a"]))  # fmt: skip
    assert posted.status_code == 201, posted.text
    await settled(http, "verified")
    board = await http.get("/promotion")
    assert board.status_code == 200
    assert board.headers["content-security-policy"].startswith("default-src 'none'")
    assert f'data-level="verified" data-candidate="{CANDIDATE.id}"' in board.text
    assert "waits for: 1 approval(s) by rm" in board.text
    timeline = await http.get("/promotion/scenarios/os-nosdn")
    assert timeline.status_code == 200
    assert 'class="move promote"' in timeline.text
    candidate = await http.get(f"/promotion/candidates/{CANDIDATE.id}")
    assert candidate.status_code == 200
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in candidate.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in candidate.text
    assert "<script>" not in candidate.text
    assert "<img" not in candidate.text
    assert (await http.get("/promotion/scenarios/nope")).status_code == 404
    assert (await http.get(f"/promotion/candidates/{'f' * 64}")).status_code == 404
    # A report's line names the candidate by 12 digits: the page takes them.
    short = await http.get(f"/promotion/candidates/{CANDIDATE.id[:12]}")
    assert short.status_code == 307
    assert short.headers["location"].endswith(f"/promotion/candidates/{CANDIDATE.id}")
    assert (await http.get(f"/promotion/candidates/{'f' * 12}")).status_code == 404
    assert (await http.get("/promotion/candidates/abc")).status_code == 422
