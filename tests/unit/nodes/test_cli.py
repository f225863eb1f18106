"""`crosscheck nodes` on canned answers of the nodes API (httpx's MockTransport): the
table, plain when piped and coloured on a terminal, the bodies the commands send, and
one clean line for each refusal."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from crosscheck.cli import main
from crosscheck.cli.nodes_table import render
from crosscheck.cli.serve_api import ServeApi

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def node(name: str, state: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "ssh",
        "host": f"ci@{name}:22",
        "labels": ["big", "nfs"],
        "pod": None,
        "state": state,
        "reason": "",
        "builds": [],
        "slots": 1,
        "held_by": None,
        "hold_reason": "",
        "hold_until": None,
        "kept_dir": None,
        "drained": False,
        "checked_at": None,
        **fields,
    }


CANNED = {
    "nodes": [
        node("local", "ready", kind="local", host="localhost", labels=[], slots=2),
        node("lab-1", "in-use", builds=["b-17"], pod="pod-a", drained=True),
        node(
            "lab-2",
            "held",
            held_by="alice",
            hold_reason="[bold]firmware[/bold]",
            hold_until="2025-03-01T12:00:00Z",
        ),
        node("lab-3", "unhealthy", reason="cannot connect to ci@lab-3:22: refused"),
        # What a node's sshd said, escape sequences and all.
        node("lab-4", "unhealthy", reason="banner: \x1b]0;owned\x07\x1b[2J"),
    ],
    "autoholds": [
        {
            "id": 4,
            "job": "acme-nfs",
            "project": None,
            "change": 1042,
            "remaining": 2,
            "hold_for": 86400,
            "reason": "flaky mount",
            "created_by": "bob",
            "created_at": "2025-03-01T09:00:00Z",
        }
    ],
}


def rendered(**console: Any) -> str:
    out = Console(record=True, width=200, **console)
    render(CANNED, out, NOW)
    return out.export_text(styles=bool(console.get("force_terminal")))


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} " in line)


def test_the_table_shows_state_labels_pod_builds_reason_and_holds() -> None:
    text = rendered(force_terminal=False)
    assert "\x1b[" not in text
    assert "lab-1" in text
    first = line_of(text, "lab-1")
    assert "in-use (drained)" in first
    assert "big, nfs" in first
    assert "pod-a" in first
    assert "b-17" in first
    held = line_of(text, "lab-2")
    # Values are text, never rich markup.
    assert "alice" in held
    assert "[bold]firmware[/bold]" in held
    assert "2025-03-01 12:00 UTC (in 2h)" in held
    assert "cannot connect to ci@lab-3:22: refused" in line_of(text, "lab-3")
    # Escape sequences from a node are shown, never sent to the terminal.
    assert "banner: \\x1b]0;owned\\x07\\x1b[2J" in line_of(text, "lab-4")
    request = line_of(text, "acme-nfs")
    assert all(cell in request for cell in ("4", "any", "1042", "2", "1d", "bob", "flaky"))


def test_on_a_terminal_each_state_has_its_colour() -> None:
    text = rendered(force_terminal=True, color_system="standard")
    assert "\x1b[33mheld" in text  # yellow
    assert "\x1b[31munhealthy" in text  # red
    assert "\x1b[32mready" in text  # green


class Canned:
    """The nodes API as MockTransport answers it; the requests it got."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "GET":
            key = "autoholds" if path.endswith("autoholds") else None
            return httpx.Response(200, json={"autoholds": CANNED["autoholds"]} if key else CANNED)
        if "lab-9" in path:
            return httpx.Response(404, json={"detail": "no node 'lab-9' (nodes: lab-1, lab-2)"})
        if path == "/api/v1/autoholds":
            return httpx.Response(201, json=CANNED["autoholds"][0])
        if path.startswith("/api/v1/autoholds/"):
            return httpx.Response(200, json=CANNED["autoholds"][0])
        return httpx.Response(200, json=CANNED["nodes"][2])

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content or b"null")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Canned:
    canned = Canned()
    transport = httpx.MockTransport(canned)
    monkeypatch.setattr(
        "crosscheck.cli.nodes.ServeApi", functools.partial(ServeApi, transport=transport)
    )
    for name in ("CROSSCHECK_URL", "CROSSCHECK_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NODES_TOKEN", "secret")
    return canned


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["nodes", *args], catch_exceptions=False)


def test_nodes_alone_lists_as_nodes_list_does(api: Canned) -> None:
    alone, listed = run(), run("list")
    assert alone.exit_code == 0, alone.output
    assert alone.output == listed.output
    assert "in-use (drained)" in alone.output
    assert "\x1b[" not in alone.output  # piped: plain


def test_json_prints_the_api_answer(api: Canned) -> None:
    assert json.loads(run("--json").output) == CANNED
    assert json.loads(run("list", "--json").output) == CANNED
    assert json.loads(run("autohold", "list", "--json").output) == CANNED["autoholds"]


def test_hold_sends_reason_for_and_by_with_the_token(api: Canned) -> None:
    result = run(
        "hold", "lab-2", "--reason", "rma", "--for", "2h", "--by", "alice", "--token-env",
        "NODES_TOKEN",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    request = api.requests[-1]
    assert (request.method, request.url.path) == ("POST", "/api/v1/nodes/lab-2/hold")
    assert request.headers["Authorization"] == "Bearer secret"
    assert api.body() == {"reason": "rma", "for": "2h", "by": "alice"}
    assert result.output == (
        "lab-2 held by alice until 2025-03-01 12:00:00 UTC: [bold]firmware[/bold]\n"
    )


def test_seconds_go_as_a_number(api: Canned) -> None:
    run("hold", "lab-2", "--reason", "rma", "--for", "3600", "--token-env", "NODES_TOKEN")
    assert api.body()["for"] == 3600


@pytest.mark.parametrize("action", ["release", "drain", "undrain"])
def test_release_drain_undrain_post_who(api: Canned, action: str) -> None:
    result = run(action, "lab-2", "--by", "bob", "--token-env", "NODES_TOKEN")
    assert result.exit_code == 0, result.output
    assert api.requests[-1].url.path == f"/api/v1/nodes/lab-2/{action}"
    assert api.body() == {"by": "bob"}


def test_autohold_add_and_delete(api: Canned) -> None:
    added = run(
        "autohold", "add", "--job", "acme-nfs", "--change", "1042", "--count", "2",
        "--reason", "flaky mount", "--by", "bob", "--token-env", "NODES_TOKEN",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert api.body() == {
        "job": "acme-nfs", "change": 1042, "count": 2, "reason": "flaky mount", "by": "bob",
        "for": "24h",
    }  # fmt: skip
    assert added.output == (
        "autohold 4: the next 2 failed build(s) of acme-nfs (change 1042) keep their node for 1d\n"
    )
    deleted = run("autohold", "delete", "4", "--token-env", "NODES_TOKEN")
    assert api.requests[-1].method == "DELETE"
    assert deleted.output == "deleted autohold 4 (acme-nfs, 2 left)\n"


def test_a_refusal_is_one_line(api: Canned) -> None:
    result = run("drain", "lab-9", "--token-env", "NODES_TOKEN")
    assert result.exit_code == 1
    assert result.output == (
        "Error: crosscheck serve refused the request (404): no node 'lab-9' (nodes: lab-1, lab-2)\n"
    )


def test_writes_without_a_token_stop_before_calling(api: Canned) -> None:
    result = run("hold", "lab-1", "--reason", "x")
    assert result.exit_code == 2
    assert "needs the admin token" in result.output
    assert api.requests == []


def test_the_groups_url_reaches_the_subcommand(api: Canned) -> None:
    result = run("--url", "http://ci.example:9", "drain", "lab-1", "--token-env", "NODES_TOKEN")
    assert result.exit_code == 0, result.output
    assert str(api.requests[-1].url).startswith("http://ci.example:9/")
    clash = run("--url", "http://a:1", "drain", "lab-1", "--url", "http://b:2")
    assert clash.exit_code == 2
    assert "two servers given" in clash.output
    misplaced = run("--json", "autohold", "list")
    assert misplaced.exit_code == 2
    assert "after the subcommand" in misplaced.output
