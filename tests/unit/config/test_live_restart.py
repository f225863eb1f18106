"""A reload keeps what serve built at start (connections, `executor`, `results`) and
says, in one warning, which changes need a restart; `ignore_*` apply at once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crosscheck.config.live import LiveConfig

from .helpers import BASE, write

JOBS = (
    "- job: {name: a, node: lab, run: [make]}\n"
    "- project: {name: p, connection: gerrit, check: {jobs: [a]}}\n"
)
OTHER = """
- connection:
    name: other
    host: other.example.org
    http_url: https://other.example.org/
    user: ci
"""


def holder(tmp_path: Path) -> LiveConfig:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS})
    return LiveConfig([tmp_path])


def edit(tmp_path: Path, old: str, new: str) -> None:
    path = tmp_path / "base.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def restart_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "restart crosscheck serve" in r.getMessage()
    ]


def test_a_new_user_is_not_applied_and_is_named_in_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = holder(tmp_path)
    edit(tmp_path, "user: ci\n", "user: ci-renamed\n")
    (tmp_path / "jobs.yaml").write_text(JOBS + "- job: {name: b, node: lab, run: [make]}\n")
    assert live.reload().ok
    assert live.current.connections["gerrit"].user == "ci"  # the account the stream runs as
    assert sorted(live.current.jobs) == ["a", "b"]  # the rest is applied
    assert restart_warnings(caplog) == [
        "configuration reloaded; connection 'gerrit' user changed: "
        "restart crosscheck serve to apply it"
    ]


def test_ignored_accounts_apply_at_once_and_need_no_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = holder(tmp_path)
    edit(
        tmp_path,
        "user: ci\n",
        "user: ci\n    ignore_own_events: false\n    ignore_accounts: zuul\n",
    )
    assert live.reload().ok
    connection = live.current.connections["gerrit"]
    assert (connection.ignore_own_events, connection.ignore_accounts) == (
        False,
        frozenset({"zuul"}),
    )
    assert restart_warnings(caplog) == []


def test_every_change_that_needs_a_restart_is_named_and_kept_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = holder(tmp_path)
    start = live.current
    (tmp_path / "token").write_text("a-webhook-token\n")  # a reload reads what it names
    edit(
        tmp_path,
        "user: ci\n",
        f"user: ci\n    ssh_port: 2222\n    webhook_token_file: {tmp_path / 'token'}\n",
    )
    (tmp_path / "more.yaml").write_text(OTHER + "- executor: {slots: 7}\n- results: {rate: 1}\n")
    assert live.reload().ok
    assert live.current.connections == start.connections  # 'other' is not served
    assert (live.current.executor, live.current.results) == (start.executor, start.results)
    assert restart_warnings(caplog) == [
        "configuration reloaded; connection 'gerrit' ssh_port, webhook_token_file changed, "
        "connection 'other' added, executor slots changed, results rate changed: "
        "restart crosscheck serve to apply them"
    ]
    # Each reload while the files still differ from the start says so again, once.
    caplog.clear()
    assert live.reload().ok
    assert len(restart_warnings(caplog)) == 1


def test_a_removed_connection_keeps_running_until_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS, "other.yaml": OTHER})
    live = LiveConfig([tmp_path])
    (tmp_path / "other.yaml").unlink()
    assert live.reload().ok
    assert sorted(live.current.connections) == ["gerrit", "other"]
    assert restart_warnings(caplog) == [
        "configuration reloaded; connection 'other' removed: restart crosscheck serve to apply it"
    ]
