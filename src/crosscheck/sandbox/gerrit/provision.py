"""Accounts, project, Verified label and permissions, through Gerrit's REST API.

Every step checks before it changes anything, so `up` can run any number of times.
"""

from __future__ import annotations

from typing import Any

import httpx

from crosscheck.drivers.gerrit.errors import GerritHttpError, GerritNotFoundError
from crosscheck.drivers.gerrit.rest import GerritRestClient, project_id
from crosscheck.sandbox.gerrit.site import ensure_key
from crosscheck.sandbox.gerrit.state import (
    CI_NAME,
    INITIAL_ADMIN_PASSWORD,
    Account,
    SandboxState,
)

SERVICE_USERS = "Service Users"
VERIFIED_LABEL: dict[str, Any] = {
    "commit_message": "crosscheck sandbox: add the Verified label",
    "values": {"-1": "Fails", " 0": "No score", "+1": "Verified"},
    "default_value": 0,
    # Label functions are deprecated; the submit requirement below does the blocking.
    "function": "NoBlock",
    "copy_condition": "changekind:NO_CHANGE OR changekind:NO_CODE_CHANGE",
}
VERIFIED_REQUIREMENT: dict[str, Any] = {
    "name": "Verified",
    "description": "A CI verified the change and no CI vetoes it.",
    "applicability_expression": "-branch:refs/meta/config",
    "submittability_expression": "label:Verified=MAX AND -label:Verified=MIN",
    "allow_override_in_child_projects": True,
    "commit_message": "crosscheck sandbox: require Verified",
}


async def provision(state: SandboxState) -> None:
    """Bring a running sandbox Gerrit to the state crosscheck's tests and demo expect."""
    async with await admin_client(state) as admin:
        await ensure_ssh_key(admin, "self", ensure_key(state.admin.ssh_key))
        await ensure_service_account(admin, state.ci)
        await grant_ci_rights(admin)
        await ensure_verified_label(admin)
        for project in state.projects:
            await ensure_project(admin, project)


async def admin_client(state: SandboxState) -> GerritRestClient:
    """A client for the admin, replacing Gerrit's well-known initial password on first use."""
    client = GerritRestClient(state.http_url, state.admin.username, state.admin.http_password)
    try:
        await client.get("/accounts/self")
        return client
    except GerritHttpError as error:
        await client.aclose()
        if error.status_code != httpx.codes.UNAUTHORIZED:
            raise
    async with GerritRestClient(
        state.http_url, state.admin.username, INITIAL_ADMIN_PASSWORD
    ) as first:
        await first.put(
            "/accounts/self/password.http", {"http_password": state.admin.http_password}
        )
    return GerritRestClient(state.http_url, state.admin.username, state.admin.http_password)


async def ensure_ssh_key(client: GerritRestClient, account: str, public_key: str) -> None:
    keys = await client.get(f"/accounts/{account}/sshkeys")
    key_data = public_key.split()[1]
    if not any(key_data in key.get("ssh_public_key", "") for key in keys):
        await client.post_text(f"/accounts/{account}/sshkeys", public_key)


async def ensure_service_account(client: GerritRestClient, account: Account) -> None:
    """The CI account: in Service Users, with an SSH key and an HTTP password."""
    public_key = ensure_key(account.ssh_key)
    try:
        await client.get(f"/accounts/{account.username}")
    except GerritNotFoundError:
        await client.put(
            f"/accounts/{account.username}",
            {
                "name": CI_NAME,
                "email": account.email,
                "ssh_key": public_key,
                "http_password": account.http_password,
                "groups": [SERVICE_USERS],
            },
        )
        return
    await ensure_ssh_key(client, account.username, public_key)
    if not await password_works(client, account):
        await client.put(
            f"/accounts/{account.username}/password.http", {"http_password": account.http_password}
        )
    members = await client.get(f"/groups/{SERVICE_USERS}/members")
    if not any(m.get("username") == account.username for m in members):
        await client.put(f"/groups/{SERVICE_USERS}/members/{account.username}")


async def password_works(admin: GerritRestClient, account: Account) -> bool:
    """Whether Gerrit accepts the account's stored HTTP password."""
    async with GerritRestClient(admin.base_url, account.username, account.http_password) as me:
        try:
            await me.get("/accounts/self")
        except GerritHttpError as error:
            if error.status_code == httpx.codes.UNAUTHORIZED:
                return False
            raise
    return True


async def grant_ci_rights(client: GerritRestClient) -> None:
    """Let Service Users vote Verified -1..+1 on every branch, read the event stream, and
    tag (releases tag every component: Create Reference and Create Annotated Tag)."""
    group = await client.get(f"/groups/{SERVICE_USERS}")
    uuid = group["id"]
    await client.post(
        "/projects/All-Projects/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Verified": {
                            "rules": {uuid: {"action": "ALLOW", "min": -1, "max": 1}}
                        }
                    }
                },
                "refs/tags/*": {
                    "permissions": {
                        "create": {"rules": {uuid: {"action": "ALLOW"}}},
                        "createTag": {"rules": {uuid: {"action": "ALLOW"}}},
                    }
                },
                "GLOBAL_CAPABILITIES": {
                    "permissions": {"streamEvents": {"rules": {uuid: {"action": "ALLOW"}}}}
                },
            }
        },
    )


async def ensure_verified_label(client: GerritRestClient) -> None:
    try:
        await client.get("/projects/All-Projects/labels/Verified")
    except GerritNotFoundError:
        await client.put("/projects/All-Projects/labels/Verified", VERIFIED_LABEL)
    try:
        await client.get("/projects/All-Projects/submit_requirements/Verified")
    except GerritNotFoundError:
        await client.put(
            "/projects/All-Projects/submit_requirements/Verified", VERIFIED_REQUIREMENT
        )


async def ensure_project(client: GerritRestClient, name: str) -> None:
    try:
        await client.get(f"/projects/{project_id(name)}")
    except GerritNotFoundError:
        await client.put(f"/projects/{project_id(name)}", {"create_empty_commit": True})
