"""serve says at start who runs the builds of this host's own slots."""

from __future__ import annotations

import getpass
import logging

import pytest

from crosscheck.model.config import Config
from crosscheck.model.node import Lab
from crosscheck.serve.lifecycle import _say_who_builds_locally


def test_builds_on_this_host_are_said_to_run_as_the_services_user(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    _say_who_builds_locally(Config(lab=Lab(local_labels=frozenset({"local", "big"}))))

    (record,) = caplog.records
    assert record.levelname == "WARNING"  # seen at the default level
    said = record.getMessage()
    who = f"run on this host as this service's own user {getpass.getuser()}"
    assert said.startswith(f"builds of label(s) big, local {who}")
    assert "SSH nodes (docs/nodes.md)" in said


def test_a_host_that_builds_nothing_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crosscheck.serve.lifecycle")
    _say_who_builds_locally(Config(lab=Lab(local_labels=frozenset())))
    assert caplog.records == []
