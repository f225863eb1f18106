"""The peer's own place on the sandbox: a project, an account with an SSH key, and the
right to vote Verified on that project alone, made through Gerrit's REST API as admin.

crosscheck keeps the sandbox's CI account (Service Users may vote on every project);
the peer's account is in a group of its own, so each CI can vote only where it should.
Every step checks first, so a reused sandbox is set up once. Both projects are then
garbage-collected, as a Gerrit site's are: a reused sandbox holds a pack per push
(hundreds after a few runs), which slowed every fetch of the change (crosscheck's
build fetches it; the peer's runs `true` without a checkout) and Gerrit's own
push -> event: 0.39 s push -> vote after a gc against 0.48-0.57 s before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crosscheck.drivers.gerrit.errors import GerritNotFoundError
from crosscheck.drivers.gerrit.rest import GerritRestClient, project_id
from crosscheck.sandbox.gerrit.provision import admin_client, ensure_project, ensure_ssh_key
from crosscheck.sandbox.gerrit.site import ensure_key
from crosscheck.sandbox.gerrit.state import SandboxState

#: crosscheck's and the peer's projects, beside the sandbox's own.
CROSSCHECK_PROJECT = "bench/crosscheck"
PEER_PROJECT = "bench/buildbot"
PEER_USER = "buildbot-peer"
PEER_GROUP = "Buildbot Peer"


@dataclass(frozen=True)
class PeerAccount:
    username: str
    ssh_key: Path


async def set_up(state: SandboxState, keys: Path) -> PeerAccount:
    """Both projects, and the peer's account voting on its own; its key kept in `keys`."""
    account = PeerAccount(PEER_USER, keys / "buildbot_peer_ed25519")
    public_key = ensure_key(account.ssh_key)
    async with await admin_client(state) as admin:
        for project in (CROSSCHECK_PROJECT, PEER_PROJECT):
            await ensure_project(admin, project)
        await ensure_account(admin, account.username, public_key)
        await ensure_group(admin, PEER_GROUP, account.username)
        await grant_peer_rights(admin, PEER_GROUP, PEER_PROJECT)
        for project in (CROSSCHECK_PROJECT, PEER_PROJECT):
            await admin.post(f"/projects/{project_id(project)}/gc", {})
    return account


async def ensure_account(admin: GerritRestClient, username: str, public_key: str) -> None:
    try:
        await admin.get(f"/accounts/{username}")
    except GerritNotFoundError:
        await admin.put(
            f"/accounts/{username}",
            {"name": "Buildbot (bench peer)", "email": f"{username}@example.com"},
        )
    await ensure_ssh_key(admin, username, public_key)


async def ensure_group(admin: GerritRestClient, name: str, member: str) -> None:
    try:
        await admin.get(f"/groups/{name}")
    except GerritNotFoundError:
        await admin.put(f"/groups/{name}", {})
    await admin.put(f"/groups/{name}/members/{member}")


async def grant_peer_rights(admin: GerritRestClient, group: str, project: str) -> None:
    """Verified -1..+1 on the project's branches, and the event stream (global)."""
    uuid = (await admin.get(f"/groups/{group}"))["id"]
    await admin.post(
        f"/projects/{project_id(project)}/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Verified": {
                            "rules": {uuid: {"action": "ALLOW", "min": -1, "max": 1}}
                        }
                    }
                }
            }
        },
    )
    await admin.post(
        "/projects/All-Projects/access",
        {
            "add": {
                "GLOBAL_CAPABILITIES": {
                    "permissions": {"streamEvents": {"rules": {uuid: {"action": "ALLOW"}}}}
                }
            }
        },
    )
