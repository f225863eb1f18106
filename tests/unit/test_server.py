"""`crosscheck serve`'s web app and its own CI account: what is mounted, on which store,
and the token it reports its results with (the whole process runs in tests/e2e)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.loader import load_config
from crosscheck.model.config import Config
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.operator.router import operator_router
from crosscheck.results.accounts import Accounts
from crosscheck.results.errors import AccountNotFoundError
from crosscheck.results.own_account import own_token
from crosscheck.results.service import ResultsService
from crosscheck.serve.web_app import web_app
from crosscheck.serve.wiring import ServeOptions, results_target
from tests.fakes.gerrit import Change, FakeGerrit, Revision

from .operator.harness import (
    ADMIN_TOKEN,
    CI_WITH_TOKEN,
    CONFIG,
    TOKEN_VARIABLE,
    bearer,
    load,
    scheduler_for,
)
from .scheduler.fakes import FakeExecutor


def config_of(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "crosscheck.yaml"
    path.write_text(text)
    result = load_config([path])
    assert result.config is not None, result.errors
    return result.config


@pytest.fixture
def logs_root(tmp_path: Path) -> Path:
    build = tmp_path / "logs" / "34" / "1234" / "1" / "check" / "unit" / "b1"
    build.mkdir(parents=True)
    (build / "console.log").write_text("2026-03-01 12:00:00.000 | make test\n")
    return tmp_path / "logs"


def client(app: httpx.ASGITransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=app, base_url="http://ci.test")


@pytest.fixture
async def stored(engine: AsyncEngine) -> ResultsService:
    service = ResultsService(engine)
    await service.accounts.create("Acme CI", allowed_projects=["*"])
    await service.report(
        "Acme CI",
        [NewResult(project="acme/driver", change=1234, patchset=1, job="unit",
                   value=ResultValue.PASSED)],
    )  # fmt: skip
    return service


async def test_serve_mounts_logs_and_the_results_service_on_its_store(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path, stored: ResultsService
) -> None:
    app = web_app(config_of(tmp_path, "- ci: {name: Acme CI}\n"), engine, {}, logs_root)
    async with client(httpx.ASGITransport(app=app)) as http:
        console = await http.get("/logs/34/1234/1/check/unit/b1/console.log")
        assert console.status_code == 200
        assert console.text == "2026-03-01 12:00:00.000 | make test\n"
        assert console.headers["content-type"] == "text/plain; charset=utf-8"
        results = (await http.get("/api/v1/changes/1234/results")).json()["results"]
        assert [(r["ci"], r["job"], r["value"]) for r in results] == [("Acme CI", "unit", "passed")]
        page = await http.get("/changes/1234")
        assert page.status_code == 200
        assert "Acme CI" in page.text
        assert (await http.get("/health")).status_code == 200
        # The results service's located errors, in serve too.
        refused = await http.post("/api/v1/results", json={"project": "acme/driver"})
        assert refused.status_code == 401
        assert refused.json()["detail"].startswith("reporting a result needs a CI account's token")
        # Managing accounts needs the admin token, which this configuration does not name.
        assert (await http.get("/api/v1/accounts")).status_code == 200
        assert (await http.post("/api/v1/accounts", json={"name": "x"})).status_code == 401


async def test_the_admin_token_of_the_ci_element_manages_accounts(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSCHECK_TEST_ADMIN", "admin-" + "y" * 40)
    config = config_of(tmp_path, "- ci: {name: Acme CI, admin_token_env: CROSSCHECK_TEST_ADMIN}\n")
    app = web_app(config, engine, {}, logs_root)
    async with client(httpx.ASGITransport(app=app)) as http:
        created = await http.post(
            "/api/v1/accounts",
            json={"name": "Other CI", "allowed_projects": ["acme/*"]},
            headers={"Authorization": "Bearer admin-" + "y" * 40},
        )
    assert created.status_code == 201, created.text
    assert (await Accounts(engine).get("Other CI")).allowed_projects == ("acme/*",)


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_rotated_admin_token_file_counts_at_once_in_the_account_api(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path
) -> None:
    old, new = "admin-old-" + "o" * 40, "admin-new-" + "n" * 40
    token_file = tmp_path / "admin-token"
    token_file.write_text(old + "\n")
    config = config_of(tmp_path, "- ci: {name: Acme CI, admin_token_file: admin-token}\n")
    app = web_app(config, engine, {}, logs_root)
    async with client(httpx.ASGITransport(app=app)) as http:
        before = await http.post("/api/v1/accounts", json={"name": "A CI"}, headers=admin(old))
        assert before.status_code == 201, before.text
        token_file.write_text(new + "\n")
        stale = await http.post("/api/v1/accounts", json={"name": "B CI"}, headers=admin(old))
        rotated = await http.post("/api/v1/accounts", json={"name": "B CI"}, headers=admin(new))
    assert stale.status_code == 401
    assert stale.json()["detail"] == "the token is not valid (wrong, or rotated since)"
    assert rotated.status_code == 201, rotated.text


async def test_the_account_api_reads_the_admin_token_from_the_source_serve_gives(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path
) -> None:
    """serve passes the `ci` element of its live configuration: a reload counts at once."""
    current = ["admin-first-" + "f" * 40]
    config = config_of(tmp_path, "- ci: {name: Acme CI}\n")
    app = web_app(config, engine, {}, logs_root, lambda: current[0])
    async with client(httpx.ASGITransport(app=app)) as http:
        first = await http.get("/api/v1/accounts/none/ssh-keys", headers=admin(current[0]))
        current[0] = "admin-second-" + "s" * 40
        stale = await http.get(
            "/api/v1/accounts/none/ssh-keys", headers=admin("admin-first-" + "f" * 40)
        )
        second = await http.get("/api/v1/accounts/none/ssh-keys", headers=admin(current[0]))
    assert (first.status_code, stale.status_code, second.status_code) == (404, 401, 404)


async def test_an_unreadable_admin_token_refuses_admin_calls_but_not_ci_accounts(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path, stored: ResultsService
) -> None:
    ci_token = await stored.accounts.rotate_token("Acme CI")
    config = config_of(tmp_path, "- ci: {name: Acme CI, admin_token_file: missing-token}\n")
    app = web_app(config, engine, {}, logs_root)
    async with client(httpx.ASGITransport(app=app)) as http:
        refused = await http.post("/api/v1/accounts", json={"name": "x"}, headers=admin("a" * 40))
        reported = await http.post(
            "/api/v1/results",
            json={"project": "acme/driver", "change": 1234, "patchset": 1, "job": "lint",
                  "value": "passed"},
            headers=admin(ci_token),
        )  # fmt: skip
    assert refused.status_code == 503
    assert refused.json()["detail"].startswith("the admin token cannot be checked: ")
    assert "missing-token" in refused.json()["detail"]
    assert reported.status_code == 201, reported.text


@pytest.mark.parametrize("serve", [True, False])
async def test_a_malformed_operator_request_has_located_errors_whether_results_are_served(
    tmp_path: Path,
    engine: AsyncEngine,
    logs_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    serve: bool,
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    config = load(
        tmp_path, CI_WITH_TOKEN + CONFIG + f"- results: {{serve: {str(serve).lower()}}}\n"
    )
    app = web_app(config, engine, {}, logs_root)
    app.include_router(
        operator_router(scheduler_for(engine, config, FakeExecutor({}), FakeGerrit()))
    )
    async with client(httpx.ASGITransport(app=app)) as http:
        answer = await http.post(
            "/api/v1/enqueue", json={"pipeline": "check"}, headers=bearer(ADMIN_TOKEN)
        )
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "change: Field required",
        "errors": [{"field": "change", "message": "Field required"}],
    }


async def test_private_reads_hide_the_pages_and_serve_false_mounts_only_logs(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path, stored: ResultsService
) -> None:
    private = web_app(
        config_of(tmp_path, "- results: {public_reads: false}\n"), engine, {}, logs_root
    )
    async with client(httpx.ASGITransport(app=private)) as http:
        assert (await http.get("/changes/1234")).status_code == 404
        assert (await http.get("/api/v1/changes/1234/results")).status_code == 401
        assert (await http.get("/logs/34/1234/1/check/unit/b1/console.log")).status_code == 200
    alone = web_app(config_of(tmp_path, "- results: {serve: false}\n"), engine, {}, logs_root)
    async with client(httpx.ASGITransport(app=alone)) as http:
        assert (await http.get("/api/v1/changes/1234/results")).status_code == 404
        assert (await http.get("/health")).status_code == 404
        assert (await http.get("/logs/34/1234/1/check/unit/b1/console.log")).status_code == 200


async def test_serve_creates_its_account_and_keeps_a_private_token(
    tmp_path: Path, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = Accounts(engine)
    token_file = tmp_path / "state" / "results" / "ci-account.token"
    with caplog.at_level(logging.INFO):
        token = await own_token(accounts, "Acme CI", token_file, info_url="https://ci.example")
    account = await accounts.by_token(token)
    assert account is not None
    assert (account.name, account.allowed_projects, account.info_url) == (
        "Acme CI",
        ("*",),
        "https://ci.example",
    )
    assert token_file.read_text() == token + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token not in caplog.text
    # A restart keeps it; a token that no longer works (rotated) is replaced.
    assert await own_token(accounts, "Acme CI", token_file) == token
    await accounts.rotate_token("Acme CI")
    fresh = await own_token(accounts, "Acme CI", token_file)
    assert fresh != token
    assert (await accounts.by_token(fresh)) is not None
    assert token_file.read_text() == fresh + "\n"


async def test_a_configured_token_is_used_as_it_is_and_a_wrong_one_is_warned_about(
    tmp_path: Path, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = Accounts(engine)
    _, real = await accounts.create("Acme CI", allowed_projects=["*"])
    token_file = tmp_path / "ci-account.token"
    assert await own_token(accounts, "Acme CI", token_file, configured=real) == real
    assert "refused" not in caplog.text
    wrong = "w" * 43
    assert await own_token(accounts, "Acme CI", token_file, configured=wrong) == wrong
    assert "the configured token does not belong to CI account 'Acme CI'" in caplog.text
    assert wrong not in caplog.text
    assert not token_file.exists()


async def test_where_results_go(
    tmp_path: Path, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    own = ServeOptions([], host="0.0.0.0", port=8081, public_url="https://ci.example.org/")  # noqa: S104
    assert own.own_url == "https://ci.example.org"
    target = await results_target(config_of(tmp_path, ""), engine, own.own_url)
    assert target is not None
    url, account, token = target
    assert (url, account) == ("https://ci.example.org", "crosscheck")
    assert (tmp_path / "state" / "results" / "ci-account.token").read_text() == token + "\n"
    monkeypatch.setenv("CROSSCHECK_TEST_RESULTS", "r" * 43)
    elsewhere = config_of(
        tmp_path,
        "- results: {serve: false, url: 'https://results.example.org', "
        "token_env: CROSSCHECK_TEST_RESULTS, account: acme}\n",
    )
    assert await results_target(elsewhere, engine, own.own_url) == (
        "https://results.example.org",
        "acme",
        "r" * 43,
    )
    with pytest.raises(AccountNotFoundError):
        await Accounts(engine).get("acme")  # an account elsewhere is not created here
    nowhere = config_of(tmp_path, "- results: {report: false}\n")
    assert await results_target(nowhere, engine, own.own_url) is None


async def test_verify_status_on_a_change_no_result_named_yet_is_looked_up_on_gerrit(
    tmp_path: Path, engine: AsyncEngine, logs_root: Path
) -> None:
    """Buildbot's first report names the change by number alone: serve asks its Gerrit."""
    revisions = [Revision(1, "b" * 40), Revision(2, "c" * 40)]
    gerrit = FakeGerrit([Change(77, "acme/driver", revisions)])
    rest = gerrit.rest("http://gerrit.test", account=None)
    _, token = await Accounts(engine).create("Buildbot CI", allowed_projects=["acme/*"])
    config = config_of(tmp_path, "- ci: {name: Acme CI}\n")
    app = web_app(config, engine, {}, logs_root, lookup=rest)
    async with client(httpx.ASGITransport(app=app)) as http:
        posted = await http.post(
            "/a/changes/77/revisions/2/verify-status~verifications",
            json={"name": "unit", "value": 1, "url": "https://bb.example/1"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert posted.status_code == 204, posted.text  # as the plugin answers a POST
    asked = gerrit.calls
    assert asked == ["/changes/77"]
    (result,) = await ResultsService(engine).change_results(77)
    assert (result.project, result.patchset, result.job) == ("acme/driver", 2, "unit")
