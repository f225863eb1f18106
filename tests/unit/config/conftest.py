"""The connection of helpers.CONNECTION reads its password from CI_PASSWORD: a reload,
as serve's start, applies a configuration only when its secrets read."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def ci_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_PASSWORD", "ci-password")
