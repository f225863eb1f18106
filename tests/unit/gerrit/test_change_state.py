"""GerritChanges: whether a revision is still worth building, in one REST request."""

from __future__ import annotations

import json

import httpx
import pytest

from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.drivers.gerrit.errors import GerritNotFoundError, GerritUnreachableError
from crosscheck.drivers.gerrit.rest import GerritRestClient, RetryPolicy
from crosscheck.model.connection import GerritConnection

OLD = "1" * 40
CURRENT = "2" * 40

#: GET /changes/acme%2Fdriver~12?o=CURRENT_REVISION&o=CURRENT_FILES, as Gerrit 3.10 answers.
CHANGE = {
    "project": "acme/driver",
    "branch": "master",
    "_number": 12,
    "status": "NEW",
    "current_revision": CURRENT,
    "revisions": {
        CURRENT: {
            "_number": 2,
            "ref": "refs/changes/12/12/2",
            "files": {"/COMMIT_MSG": {}, "driver.py": {"lines_inserted": 3}, "doc/x.rst": {}},
        }
    },
}


CONNECTION = GerritConnection(name="review", host="h", user="ci", http_url="http://h/")


def reply(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, text=")]}'\n" + json.dumps(body))


def gerrit(
    requests: list[httpx.Request], change: dict[str, object] | None = CHANGE
) -> GerritChanges:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.raw_path.decode().partition("?")[0]
        if change is None:
            return httpx.Response(404, text="Not found: acme/driver~12")
        if path == "/a/changes/acme%2Fdriver~12":
            return reply(change)
        if path == f"/a/changes/acme%2Fdriver~12/revisions/{OLD}/files":
            return reply({"/COMMIT_MSG": {}, "/MERGE_LIST": {}, "old.py": {}})
        return httpx.Response(404, text=f"Not found: {path}")

    rest = GerritRestClient(
        "http://gerrit.test/",
        "ci",
        "pw",
        retry=RetryPolicy(attempts=1),
        transport=httpx.MockTransport(handler),
    )
    return GerritChanges(rest, CONNECTION)


async def test_the_current_revision_comes_with_its_files_in_one_request() -> None:
    requests: list[httpx.Request] = []
    state = await gerrit(requests).change_state("acme/driver", 12, CURRENT)
    assert (state.status, state.current_patchset, state.current_revision) == ("NEW", 2, CURRENT)
    assert state.files == ("driver.py", "doc/x.rst")  # Gerrit's /COMMIT_MSG is not in the tree
    assert not state.closed
    assert state.is_current(CURRENT)
    (request,) = requests
    assert request.url.params.get_list("o") == ["CURRENT_REVISION", "CURRENT_FILES"]


async def test_an_older_revision_is_not_current_and_its_files_are_a_second_request() -> None:
    requests: list[httpx.Request] = []
    changes = gerrit(requests)
    state = await changes.change_state("acme/driver", 12, OLD)
    assert not state.is_current(OLD)
    assert state.files is None
    assert len(requests) == 1
    assert await changes.revision_files("acme/driver", 12, OLD) == ["old.py"]


@pytest.mark.parametrize("status", ["ABANDONED", "MERGED"])
async def test_an_abandoned_or_merged_change_is_closed(status: str) -> None:
    state = await gerrit([], {**CHANGE, "status": status}).change_state("acme/driver", 12, CURRENT)
    assert state.closed
    assert state.status == status


async def test_a_change_gerrit_does_not_show_raises_not_found() -> None:
    with pytest.raises(GerritNotFoundError):
        await gerrit([], None).change_state("acme/driver", 12, CURRENT)


async def test_an_unreachable_gerrit_raises_so_the_item_waits() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rest = GerritRestClient(
        "http://gerrit.test/",
        "ci",
        "pw",
        retry=RetryPolicy(attempts=1),
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(GerritUnreachableError):
        await GerritChanges(rest, CONNECTION).change_state("acme/driver", 12, CURRENT)
