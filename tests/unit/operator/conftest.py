"""Fixtures shared by the operator API tests."""

from __future__ import annotations

import pytest

from .harness import ADMIN_TOKEN, TOKEN_VARIABLE


@pytest.fixture
def token_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable `CI_WITH_TOKEN` names holds the admin token."""
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
