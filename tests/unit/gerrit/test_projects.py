"""A Gerrit's projects and branches over REST, in the shapes Gerrit 3.10 answers with."""

from __future__ import annotations

import pytest

from crosscheck.drivers.gerrit.errors import GerritNotFoundError
from crosscheck.drivers.gerrit.projects import GerritProjects
from tests.fakes.gerrit import FakeGerrit, Project

NAMES = ["All-Projects", "All-Users", "acme/driver", "acme/lib-a", "acme/lib-b"]


def fake_gerrit() -> FakeGerrit:
    """A Gerrit site's own two projects, and three more."""
    return FakeGerrit(
        projects=[
            Project("acme/driver", "main", ("main", "stable/1.0")),
            Project("acme/lib-a"),
            Project("acme/lib-b"),
        ]
    )


async def test_projects_are_listed_page_by_page_until_gerrit_says_no_more() -> None:
    gerrit = fake_gerrit()
    requests = gerrit.requests
    async with gerrit.rest() as rest:
        assert await GerritProjects(rest, page=2).projects() == NAMES
    assert [r.url.params["S"] for r in requests] == ["0", "2", "4"]
    assert all("r" not in r.url.params for r in requests)  # filtered by crosscheck's own rule


async def test_head_and_branches_are_short_branch_names() -> None:
    async with fake_gerrit().rest() as rest:
        projects = GerritProjects(rest)
        assert await projects.head_branch("acme/driver") == "main"
        assert await projects.branches("acme/driver") == ["main", "stable/1.0"]
        with pytest.raises(GerritNotFoundError):
            await projects.head_branch("acme/gone")
