"""A Gerrit's projects and branches over REST, in the shapes Gerrit 3.10 answers with."""

from __future__ import annotations

import json

import httpx
import pytest

from crosscheck.drivers.gerrit.errors import GerritNotFoundError
from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.rest import GerritRestClient, RetryPolicy

NAMES = ["All-Projects", "All-Users", "acme/driver", "acme/lib-a", "acme/lib-b"]


def reply(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, text=")]}'\n" + json.dumps(body))


def gerrit(requests: list[httpx.Request]) -> GerritRestClient:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.raw_path.decode().partition("?")[0]
        if path == "/a/projects/":
            start, size = int(request.url.params["S"]), int(request.url.params["n"])
            page: dict[str, dict[str, object]] = {
                name: {"id": name, "state": "ACTIVE"} for name in NAMES[start : start + size]
            }
            if start + size < len(NAMES):
                page[list(page)[-1]]["_more_projects"] = True
            return reply(page)
        if path == "/a/projects/acme%2Fdriver/HEAD":
            return reply("refs/heads/main")
        if path == "/a/projects/acme%2Fdriver/branches/":
            return reply(
                [
                    {"ref": "HEAD", "revision": "main"},
                    {"ref": "refs/meta/config", "revision": "1" * 40},
                    {"ref": "refs/heads/main", "revision": "2" * 40},
                    {"ref": "refs/heads/stable/1.0", "revision": "3" * 40},
                ]
            )
        return httpx.Response(404, text=f"Not found: {path}")

    return GerritRestClient(
        "http://gerrit.test/",
        "ci",
        "pw",
        retry=RetryPolicy(attempts=1),
        transport=httpx.MockTransport(handler),
    )


async def test_projects_are_listed_page_by_page_until_gerrit_says_no_more() -> None:
    requests: list[httpx.Request] = []
    async with gerrit(requests) as rest:
        assert await GerritProjects(rest, page=2).projects() == NAMES
    assert [r.url.params["S"] for r in requests] == ["0", "2", "4"]
    assert all("r" not in r.url.params for r in requests)  # filtered by crosscheck's own rule


async def test_head_and_branches_are_short_branch_names() -> None:
    async with gerrit([]) as rest:
        projects = GerritProjects(rest)
        assert await projects.head_branch("acme/driver") == "main"
        assert await projects.branches("acme/driver") == ["main", "stable/1.0"]
        with pytest.raises(GerritNotFoundError):
            await projects.head_branch("acme/gone")
