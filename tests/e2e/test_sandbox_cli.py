"""`crosscheck sandbox` against a real Gerrit: status, info, idempotent up, provisioning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosscheck.drivers.gerrit.errors import GerritHttpError
from crosscheck.drivers.gerrit.rest import GerritRestClient, project_id
from crosscheck.sandbox.gerrit import SandboxState
from crosscheck.sandbox.gerrit.state import INITIAL_ADMIN_PASSWORD

from .conftest import crosscheck
from .gerrit_clients import admin_rest, ci_rest


def test_status_says_running_and_exits_0(sandbox_dir: Path) -> None:
    completed = crosscheck(sandbox_dir, "status", "--json")
    assert json.loads(completed.stdout) == {"status": "running"}


async def test_info_json_gives_working_ci_credentials(sandbox_dir: Path) -> None:
    data = json.loads(crosscheck(sandbox_dir, "info", "--json").stdout)
    ci = data["ci_account"]
    assert Path(ci["http_password_file"]).read_text() == ci["http_password"]
    async with GerritRestClient(data["http_url"], ci["username"], ci["http_password"]) as rest:
        me = await rest.get("/accounts/self")
        capabilities = await rest.get("/accounts/self/capabilities")
        groups = await rest.get("/accounts/self/groups")
    assert me["username"] == "crosscheck-ci"
    assert capabilities.get("streamEvents") is True
    assert "Service Users" in {group["name"] for group in groups}


async def test_gerrits_well_known_admin_password_is_replaced(sandbox: SandboxState) -> None:
    async with GerritRestClient(sandbox.http_url, "admin", INITIAL_ADMIN_PASSWORD) as rest:
        with pytest.raises(GerritHttpError) as caught:
            await rest.get("/accounts/self")
    assert caught.value.status_code == 401


async def test_a_second_up_reuses_everything(sandbox_dir: Path) -> None:
    before = SandboxState.load(sandbox_dir)
    completed = crosscheck(sandbox_dir, "up")
    after = SandboxState.load(sandbox_dir)
    assert "already running" in completed.stdout
    assert (after.http_port, after.ssh_port, after.pid) == (
        before.http_port,
        before.ssh_port,
        before.pid,
    )
    assert after.ci.http_password == before.ci.http_password
    async with admin_rest(after) as admin:
        admin_keys = await admin.get("/accounts/self/sshkeys")
        ci_keys = await admin.get("/accounts/crosscheck-ci/sshkeys")
    assert len(admin_keys) == 1
    assert len(ci_keys) == 1


async def test_projects_label_and_submit_requirement_exist(sandbox: SandboxState) -> None:
    async with ci_rest(sandbox) as rest:
        for project in ("sandbox/ci-sandbox", "sandbox/second"):
            found = await rest.get(f"/projects/{project_id(project)}")
            assert found["name"] == project
    async with admin_rest(sandbox) as admin:  # refs/meta/config is readable by owners only
        label = await admin.get("/projects/All-Projects/labels/Verified")
        requirement = await admin.get("/projects/All-Projects/submit_requirements/Verified")
    assert set(label["values"]) == {"-1", " 0", "+1"}
    assert requirement["submittability_expression"] == "label:Verified=MAX AND -label:Verified=MIN"
