"""`crosscheck status|enqueue|dequeue` against a real HTTP server of the operator API."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from crosscheck.cli import main
from crosscheck.cli.status import PIPED_WIDTH, output_console, render
from crosscheck.sandbox.gerrit.site import free_port

from .harness import ADMIN_TOKEN, CI_WITH_TOKEN, CONFIG, TOKEN_VARIABLE, load
from .server import Served, serve_operator


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSCHECK_URL", "CROSSCHECK_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin-token"
    path.write_text(ADMIN_TOKEN + "\n")
    return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = load(tmp_path, CI_WITH_TOKEN + CONFIG)
    with serve_operator(tmp_path, config, hold={"lab"}) as served:
        yield served
        served.release_builds()


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def status_json(url: str) -> Any:
    result = cli("status", "--url", url, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def wait_running(url: str, job: str) -> Any:
    """The status once `job` runs and nothing else does."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        data = status_json(url)
        if [b["job"] for b in data["running_builds"]] == [job]:
            return data
        time.sleep(0.05)
    raise AssertionError(f"{job} never ran: {data}")


def test_enqueue_status_and_dequeue_over_http(served: Served, token_file: Path) -> None:
    enqueued = cli(
        "enqueue", "--url", served.url, "--token-file", str(token_file),
        "--pipeline", "check", "--change", "3",
    )  # fmt: skip
    assert enqueued.exit_code == 0, enqueued.output
    assert enqueued.output == "enqueued change 3,2 in check (acme/driver, master) as item 1\n"

    data = wait_running(served.url, "lab")
    shown = cli("status", "--url", served.url)
    assert shown.exit_code == 0, shown.output
    assert "check (independent): 1 item(s)" in shown.output
    assert "item 1  3,2  acme/driver (master)  running" in shown.output
    assert "enqueued by an operator" in shown.output
    assert "1 build(s) running, 0 waiting for a node" in shown.output
    assert "lab   running  local-0" in shown.output
    assert "unit  SUCCESS  1m 02s" in shown.output  # the fake executor names no node
    (running,) = data["running_builds"]
    assert (running["change"], running["patchset"], running["pipeline"]) == (3, 2, "check")

    dequeued = cli(
        "dequeue", "--url", served.url, "--token-file", str(token_file),
        "--pipeline", "check", "--change", "3,2",
    )  # fmt: skip
    assert dequeued.exit_code == 0, dequeued.output
    assert dequeued.output == "dequeued item 1: change 3,2 in check; canceled: lab\n"
    after = status_json(served.url)
    assert after["pipelines"][0]["items"] == []
    assert after["running_builds"] == []


def test_the_token_and_url_may_come_from_the_environment(served: Served) -> None:
    from_variable = cli(
        "enqueue", "--token-env", TOKEN_VARIABLE, "--pipeline", "check", "--change", "1",
        env={"CROSSCHECK_URL": served.url},
    )  # fmt: skip
    from_default = cli(
        "dequeue", "--item", "1",
        env={"CROSSCHECK_URL": served.url, "CROSSCHECK_ADMIN_TOKEN": ADMIN_TOKEN},
    )  # fmt: skip
    assert from_variable.exit_code == 0, from_variable.output
    assert from_default.exit_code == 0, from_default.output
    assert from_default.output.startswith("dequeued item 1: change 1,2 in check")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["enqueue", "--pipeline", "chek", "--change", "1"],
            "Error: crosscheck serve refused the request (404): unknown pipeline 'chek'; "
            "did you mean 'check'?",
        ),
        (
            ["enqueue", "--pipeline", "check", "--change", "20"],
            "Error: crosscheck serve refused the request (422): change 20 is in project "
            "'acme/docs', which has no jobs in pipeline 'check'",
        ),
        (
            ["enqueue", "--pipeline", "check", "--change", "404"],
            "Error: crosscheck serve refused the request (404): change 404 is not on "
            "connection 'review'",
        ),
        (
            ["enqueue", "--pipeline", "check", "--change", "1", "--connection", "gerrit"],
            "unknown connection 'gerrit'; connections: review",
        ),
        (
            ["dequeue", "--pipeline", "check", "--change", "3"],
            "Error: crosscheck serve refused the request (404): nothing to dequeue: "
            "change 3 has no queued item in pipeline 'check'",
        ),
        (
            ["dequeue", "--item", "7"],
            "there is no item 7 (`crosscheck status` lists the queued ones)",
        ),
    ],
)
def test_refusals_are_one_clear_line(
    served: Served, token_file: Path, args: list[str], message: str
) -> None:
    result = cli(*args, "--url", served.url, "--token-file", str(token_file))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_wrong_token_is_refused_saying_which_token_to_use(served: Served, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    result = cli(
        "enqueue", "--url", served.url, "--token-file", str(wrong),
        "--pipeline", "check", "--change", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Error: crosscheck serve refused the token: the token is not the admin token" in (
        result.output
    )
    assert "admin_token_file or admin_token_env" in result.output
    assert status_json(served.url)["pipelines"][0]["items"] == []


def test_a_server_without_an_admin_token_says_how_to_configure_one(
    tmp_path: Path, token_file: Path
) -> None:
    with serve_operator(tmp_path, load(tmp_path, CONFIG), hold=set()) as served:
        result = cli(
            "enqueue", "--url", served.url, "--token-file", str(token_file),
            "--pipeline", "check", "--change", "1",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "(403): operator commands are disabled: no admin token is configured" in result.output
    assert "'- ci:' element with admin_token_file" in result.output


def test_a_server_that_is_not_running_is_named_with_what_to_do() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["status"], ["dequeue", "--item", "1", "--token-env", TOKEN_VARIABLE]):
        result = cli(*args, "--url", url)
        assert result.exit_code == 1
        assert f"Error: cannot reach crosscheck serve at {url}" in result.output
        assert "is it running? Give its address with --url or CROSSCHECK_URL" in result.output


def test_writes_without_a_token_stop_before_calling_the_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: a call would say so
    result = cli("enqueue", "--url", url, "--pipeline", "check", "--change", "1")
    assert result.exit_code == 2
    assert "needs the admin token" in result.output
    assert "--token-file FILE or --token-env VAR, or set CROSSCHECK_ADMIN_TOKEN" in result.output


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["enqueue", "--pipeline", "check", "--change", "x"], "give a change number", 2),
        (["enqueue", "--pipeline", "check", "--change", "3,0"], "numbers start at 1", 2),
        (["enqueue", "--change", "3"], "Missing option '--pipeline'", 2),
        (["dequeue", "--item", "1", "--change", "3"], "give --item alone", 2),
        (["dequeue", "--pipeline", "check"], "give --item ID, or --pipeline and --change", 2),
        (["dequeue", "--item", "0"], "0 is not in the range x>=1", 2),
        (
            ["dequeue", "--item", "1", "--token-env", "NOPE_UNSET_VAR"],
            "the environment variable NOPE_UNSET_VAR is not set or empty",
            1,  # the arguments are right; the environment is not
        ),
        (
            ["dequeue", "--item", "1", "--token-env", "A", "--token-file", "f"],
            "give --token-file or --token-env, not both",
            2,
        ),
    ],
)
def test_bad_arguments_are_refused_before_any_call(
    args: list[str], message: str, code: int
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli(*args, "--url", url)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "cannot reach" not in result.output


def test_a_server_that_is_not_crosscheck_is_recognised(tmp_path: Path) -> None:
    # The operator server answers FastAPI's 404 for an unknown route, as any app would.
    config = load(tmp_path, CI_WITH_TOKEN + CONFIG)
    with serve_operator(tmp_path, config, hold=set()) as served:
        result = cli("status", "--url", served.url + "/elsewhere")
    assert result.exit_code == 1
    assert "has no /api/v1/status: is it crosscheck serve" in result.output


STATUS = {
    "pipelines": [
        {
            "name": "check",
            "manager": "independent",
            "items": [
                {
                    "id": 4,
                    "pipeline": "check",
                    "connection": "review",
                    "project": "acme/[bold]driver",
                    "branch": "master",
                    "change": 3,
                    "patchset": 2,
                    "state": "running",
                    "enqueued_at": "2024-05-01T10:00:00+00:00",
                    "why": 'comment by dev: "recheck"',
                    "detail": None,
                    "builds": [
                        {
                            "id": "b1",
                            "job": "lab",
                            "attempt": 2,
                            "voting": True,
                            "state": "running",
                            "result": None,
                            "node": "local-0",
                            "started_at": "2024-05-01T10:00:01+00:00",
                            "finished_at": None,
                            "log_url": "https://ci.example.org/logs/b1/",
                            "detail": None,
                        },
                        {
                            "id": "b2",
                            "job": "unit-tests",
                            "attempt": 1,
                            "voting": True,
                            "state": "finished",
                            "result": "FAILURE",
                            "node": "local-1",
                            "started_at": "2024-05-01T10:00:01+00:00",
                            "finished_at": "2024-05-01T10:01:03+00:00",
                            "log_url": "https://ci.example.org/logs/b2/",
                            "detail": None,
                        },
                    ],
                }
            ],
        },
        {"name": "old", "manager": None, "items": []},
    ],
    "running_builds": [
        {
            "id": "b1",
            "item": 4,
            "pipeline": "check",
            "project": "acme/[bold]driver",
            "change": 3,
            "patchset": 2,
            "job": "lab",
            "attempt": 2,
            "node": "[red]local-0",
            "started_at": "2024-05-01T10:00:01+00:00",
            "log_url": "https://ci.example.org/logs/b1/",
        }
    ],
    "waiting_builds": 1,
}


def test_the_status_is_a_tree_per_pipeline_then_the_running_builds() -> None:
    console = Console(width=120, record=True, color_system=None)
    render(STATUS, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert lines[:6] == [
        "check (independent): 1 item(s)",
        "└── item 4  3,2  acme/[bold]driver (master)  running  5m 00s ago  "
        'comment by dev: "recheck"',
        "    ├── lab #2      running  local-0  4m 59s  https://ci.example.org/logs/b1/",
        "    └── unit-tests  FAILURE  local-1  1m 02s  https://ci.example.org/logs/b2/",
        "old (no longer configured): empty",
        "1 build(s) running, 1 waiting for a node",
    ]
    running = next(line for line in lines if line.startswith("│ lab #2"))
    assert "│ 3,2    │ check    │ [red]local-0 │ 4m 59s" in running


def test_piped_status_lines_are_whole_and_a_terminal_or_columns_decides_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert output_console().width == PIPED_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert output_console().width == 100
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert output_console().width != PIPED_WIDTH  # the terminal's own width


def test_a_piped_status_keeps_a_long_log_url_whole() -> None:
    url = "https://ci.example.org/logs/" + "/".join(["a-long-directory-name"] * 5) + "/"
    data: dict[str, Any] = copy.deepcopy(STATUS)
    data["running_builds"][0]["log_url"] = url
    shown: dict[int, str] = {}
    for width in (80, PIPED_WIDTH):
        console = Console(width=width, record=True, color_system=None)
        render(data, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
        shown[width] = console.export_text()
    assert url not in shown[80]  # what a pipe used to get: the URL folded
    assert url in shown[PIPED_WIDTH]


def test_items_of_two_gerrits_name_theirs() -> None:
    status: dict[str, Any] = json.loads(json.dumps(STATUS))
    (item,) = status["pipelines"][0]["items"]
    item["connection"] = "upstream"
    other = {**item, "id": 5, "connection": "integrating", "builds": []}
    status["pipelines"][0]["items"].append(other)
    console = Console(width=160, record=True, color_system=None)
    render(status, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
    text = console.export_text()
    assert "item 4  upstream:3,2  acme/[bold]driver" in text
    assert "item 5  integrating:3,2  acme/[bold]driver" in text
