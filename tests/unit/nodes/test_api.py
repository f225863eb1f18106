"""The nodes API over a pool of SSH nodes that are never connected to: what it shows,
who may write, and each refusal with its status and message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .harness import ADMIN, ADMIN_TOKEN, nodes_api


def by_name(body: dict[str, object]) -> dict[str, dict[str, object]]:
    nodes = body["nodes"]
    assert isinstance(nodes, list)
    return {node["name"]: node for node in nodes}


async def test_anyone_sees_every_node_this_hosts_slots_first(tmp_path: Path) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.get("/api/v1/nodes")
    assert answer.status_code == 200
    body = answer.json()
    assert [n["name"] for n in body["nodes"]] == ["local", "lab-1", "lab-2"]
    assert body["autoholds"] == []
    first = by_name(body)["lab-1"]
    assert first == {
        "name": "lab-1",
        "kind": "ssh",
        "host": "ci@192.0.2.1:22",
        "labels": ["big"],
        "pod": "pod-a",
        "state": "unchecked",
        "reason": "",
        "builds": [],
        "slots": 1,
        "held_by": None,
        "hold_reason": "",
        "hold_until": None,
        "kept_dir": None,
        "drained": False,
        "checked_at": None,
    }


async def test_a_hold_shows_who_why_and_until_when(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    async with nodes_api(tmp_path) as api:
        body = {"reason": "firmware update", "for": "2h", "by": "alice"}
        answer = await api.http.post("/api/v1/nodes/lab-1/hold", json=body, headers=ADMIN)
        shown = by_name((await api.http.get("/api/v1/nodes")).json())["lab-1"]
        assert api.pool.runtime("lab-1").held_by == "alice"
    assert answer.status_code == 200
    assert answer.json() == shown
    assert (shown["state"], shown["held_by"], shown["hold_reason"]) == (
        "held",
        "alice",
        "firmware update",
    )
    until = datetime.fromisoformat(str(shown["hold_until"]))
    assert before + timedelta(hours=2) <= until <= datetime.now(UTC) + timedelta(hours=2)


async def test_release_puts_a_held_node_back_and_a_second_release_is_refused(
    tmp_path: Path,
) -> None:
    async with nodes_api(tmp_path) as api:
        await api.http.post("/api/v1/nodes/lab-2/hold", json={"reason": "x"}, headers=ADMIN)
        released = await api.http.post("/api/v1/nodes/lab-2/release", headers=ADMIN)
        again = await api.http.post(
            "/api/v1/nodes/lab-2/release", json={"by": "bob"}, headers=ADMIN
        )
    assert released.status_code == 200
    assert (released.json()["state"], released.json()["held_by"]) == ("unchecked", None)
    assert again.status_code == 409
    assert again.json()["detail"] == "node 'lab-2' is not held"


async def test_drain_and_undrain(tmp_path: Path) -> None:
    async with nodes_api(tmp_path) as api:
        drained = await api.http.post("/api/v1/nodes/lab-1/drain", headers=ADMIN)
        undrained = await api.http.post(
            "/api/v1/nodes/lab-1/undrain", json={"by": "bob"}, headers=ADMIN
        )
    assert (drained.json()["state"], drained.json()["drained"]) == ("drained", True)
    assert (undrained.json()["state"], undrained.json()["drained"]) == ("unchecked", False)


WRITES = [
    ("POST", "/api/v1/nodes/lab-1/hold", {"reason": "x"}),
    ("POST", "/api/v1/nodes/lab-1/release", None),
    ("POST", "/api/v1/nodes/lab-1/drain", None),
    ("POST", "/api/v1/nodes/lab-1/undrain", None),
    ("POST", "/api/v1/autoholds", {"job": "acme-nfs", "reason": "x"}),
    ("DELETE", "/api/v1/autoholds/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}],
    ids=["none", "wrong", "no-scheme"],
)
async def test_every_write_needs_the_admin_token(
    tmp_path: Path,
    method: str,
    path: str,
    body: dict[str, object] | None,
    headers: dict[str, str],
) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.request(method, path, json=body, headers=headers)
        shown = by_name((await api.http.get("/api/v1/nodes")).json())["lab-1"]
    assert answer.status_code == 401
    assert "admin token" in answer.json()["detail"]
    assert shown["state"] == "unchecked"


async def test_with_no_token_configured_writes_are_refused_saying_how_to_configure_one(
    tmp_path: Path,
) -> None:
    async with nodes_api(tmp_path, token=None) as api:
        answer = await api.http.post(
            "/api/v1/nodes/lab-1/hold", json={"reason": "x"}, headers=ADMIN
        )
    assert answer.status_code == 403
    assert "admin_token_file" in answer.json()["detail"]


async def test_an_unknown_node_is_404_naming_the_nodes(tmp_path: Path) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.post("/api/v1/nodes/lab-9/drain", headers=ADMIN)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no node 'lab-9' (nodes: lab-1, lab-2)"


async def test_this_hosts_slots_are_not_held_saying_what_to_change(tmp_path: Path) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.post(
            "/api/v1/nodes/local/hold", json={"reason": "x"}, headers=ADMIN
        )
    assert answer.status_code == 409
    assert "`slots` in the '- executor:' element" in answer.json()["detail"]


async def test_a_malformed_body_is_422_naming_the_field(tmp_path: Path) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.post(
            "/api/v1/nodes/lab-1/hold", json={"reason": "x", "for": "soon"}, headers=ADMIN
        )
        nul = await api.http.post(
            "/api/v1/nodes/lab-1/hold", json={"reason": "a\u0000b"}, headers=ADMIN
        )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["for"]
    assert nul.status_code == 422
    assert [e["field"] for e in nul.json()["errors"]] == ["reason"]


async def test_an_autohold_is_made_listed_and_deleted(tmp_path: Path) -> None:
    body = {"job": "acme-nfs", "project": "acme/cinder", "change": 1042, "count": 2}
    async with nodes_api(tmp_path) as api:
        made = await api.http.post(
            "/api/v1/autoholds", json={**body, "for": "2h", "reason": "flaky"}, headers=ADMIN
        )
        listed = (await api.http.get("/api/v1/autoholds")).json()["autoholds"]
        overview = (await api.http.get("/api/v1/nodes")).json()["autoholds"]
        deleted = await api.http.delete(f"/api/v1/autoholds/{made.json()['id']}", headers=ADMIN)
        again = await api.http.delete(f"/api/v1/autoholds/{made.json()['id']}", headers=ADMIN)
        after = (await api.http.get("/api/v1/autoholds")).json()["autoholds"]
    assert made.status_code == 201
    request = made.json()
    assert (request["job"], request["project"], request["change"]) == (
        "acme-nfs",
        "acme/cinder",
        1042,
    )
    assert (request["remaining"], request["hold_for"], request["created_by"]) == (
        2,
        7200,
        "operator",
    )
    assert listed == overview == [request]
    assert (deleted.status_code, deleted.json()) == (200, request)
    assert again.status_code == 404
    assert after == []


@pytest.mark.parametrize(
    ("job", "says"),
    [
        ("acme-nsf", "did you mean 'acme-nfs'?"),
        ("zzz", "jobs: acme-iscsi, acme-nfs"),
        ("acme-base", "no job 'acme-base'"),  # abstract: no build of it ever fails
    ],
)
async def test_an_autohold_for_a_job_the_configuration_lacks_is_422(
    tmp_path: Path, job: str, says: str
) -> None:
    async with nodes_api(tmp_path) as api:
        answer = await api.http.post(
            "/api/v1/autoholds", json={"job": job, "reason": "x"}, headers=ADMIN
        )
        listed = (await api.http.get("/api/v1/autoholds")).json()["autoholds"]
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "job"
    assert says in answer.json()["detail"]
    assert listed == []


async def test_holds_and_drains_outlive_the_pool(tmp_path: Path) -> None:
    """A new pool on the same store (serve restarted) shows them again."""
    async with nodes_api(tmp_path) as api:
        await api.http.post("/api/v1/nodes/lab-1/hold", json={"reason": "rma"}, headers=ADMIN)
        await api.http.post("/api/v1/nodes/lab-2/drain", headers=ADMIN)
    async with nodes_api(tmp_path) as api:
        await api.pool.load()
        shown = by_name((await api.http.get("/api/v1/nodes")).json())
    assert (shown["lab-1"]["state"], shown["lab-1"]["hold_reason"]) == ("held", "rma")
    assert shown["lab-2"]["state"] == "drained"


#: Bodies refused before the route's own parameters are read: not JSON (FastAPI's
#: 422), a NUL character (the router's storable check, 422), not UTF-8 (FastAPI's 400).
BROKEN_BODIES = [b"{not json", b'{"reason": "a\\u0000b"}', b'{"reason": "\xff"}']


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, body in WRITES if body])
async def test_a_broken_body_is_judged_after_the_admin_token(
    tmp_path: Path, method: str, path: str
) -> None:
    json_type = {"Content-Type": "application/json"}
    async with nodes_api(tmp_path) as api:
        for content in BROKEN_BODIES:
            stranger = await api.http.request(method, path, content=content, headers=json_type)
            wrong = await api.http.request(
                method, path, content=content, headers=json_type | {"Authorization": "Bearer x"}
            )
            admin = await api.http.request(method, path, content=content, headers=json_type | ADMIN)
            assert (stranger.status_code, wrong.status_code) == (401, 401), content
            assert admin.status_code in (400, 422), content
