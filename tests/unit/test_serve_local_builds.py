"""serve says at start who runs the builds of this host's own slots, and how confined."""

from __future__ import annotations

import getpass
import logging
from dataclasses import replace

import pytest

from crosscheck.model.config import Config, ExecutorSettings
from crosscheck.model.node import Lab
from crosscheck.serve.lifecycle import _say_who_builds_locally

LOCAL = Config(lab=Lab(local_labels=frozenset({"local", "big"})))


def test_unconfined_builds_on_this_host_are_a_warning_naming_the_user_and_why(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: None)
    _say_who_builds_locally(LOCAL, confined=False)

    (record,) = caplog.records
    assert record.levelname == "WARNING"  # seen at the default level
    said = record.getMessage()
    who = f"run on this host as this service's own user {getpass.getuser()}"
    assert said.startswith(f"builds of label(s) big, local {who}, not confined")
    why = "no working bubblewrap: bwrap is not installed (sudo apt-get install bubblewrap)"
    assert f"({why})" in said
    assert "SSH nodes (docs/nodes.md)" in said


def test_confine_none_is_named_as_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    config = replace(LOCAL, executor=ExecutorSettings(confine="none"))
    _say_who_builds_locally(config, confined=False)
    (record,) = caplog.records
    assert "not confined ('confine: none')" in record.getMessage()


@pytest.mark.parametrize(("uid", "level"), [(1000, "INFO"), (0, "WARNING")])
def test_confined_builds_are_said_at_info_unless_serve_runs_as_root(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, uid: int, level: str
) -> None:
    """A confined step as root still reads every file root may read."""
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    monkeypatch.setattr("crosscheck.serve.lifecycle.os.getuid", lambda: uid)
    _say_who_builds_locally(LOCAL, confined=True)
    (record,) = caplog.records
    assert record.levelname == level
    said = record.getMessage()
    assert said.startswith(
        f"builds of label(s) big, local run on this host as {getpass.getuser()}, confined "
        "by bubblewrap"
    )
    assert ("run serve as a user of its own" in said) is (uid == 0)


def test_a_host_that_builds_nothing_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    _say_who_builds_locally(Config(lab=Lab(local_labels=frozenset())), confined=False)
    assert caplog.records == []
