"""The fake Gerrit (tests/fakes/gerrit.py) held to facts of Gerrit 3.10's REST API, so the
tests that lean on it cannot drift from Gerrit unnoticed. The facts: Gerrit's REST
documentation (Documentation/rest-api-*.txt) and its source (RestApiServlet writes
`)]}'` then JSON, and errors as text ending in a newline; ListProjectsImpl sorts by name
and marks `_more_projects`; voting on an abandoned change is 409 `change is closed`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from crosscheck.drivers.gerrit.projects import GerritProjects
from tests.fakes.gerrit import (
    CI,
    DEV,
    PASSWORD,
    Change,
    FakeGerrit,
    Message,
    Project,
    Revision,
)

OLD, NEW = "1" * 40, "2" * 40


def fake_gerrit() -> FakeGerrit:
    files: dict[str, dict[str, Any]] = {
        "/COMMIT_MSG": {"status": "A"},
        "driver.py": {"lines_inserted": 3},
    }
    revisions = [Revision(1, OLD, files=files), Revision(2, NEW, "2024-05-02 10:00:00.000000000")]
    return FakeGerrit([Change(7, "acme/driver", revisions)])


def http(gerrit: FakeGerrit, signed_in: bool = True) -> httpx.AsyncClient:
    """A plain client: what goes over the wire, undecoded."""
    return httpx.AsyncClient(
        base_url="http://gerrit.test",
        transport=httpx.MockTransport(gerrit),
        auth=(CI.username, PASSWORD) if signed_in else None,
    )


def body(answer: httpx.Response) -> Any:
    prefix, _, rest = answer.text.partition("\n")
    assert prefix == ")]}'"
    return json.loads(rest)


async def test_json_comes_after_the_xssi_line_and_ends_with_a_newline() -> None:
    async with http(fake_gerrit()) as client:
        answer = await client.get("/a/accounts/self")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=UTF-8"
    assert answer.text.startswith(")]}'\n{")
    assert answer.text.endswith("}\n")
    assert body(answer) == CI.info()


async def test_an_unknown_change_is_a_404_in_plain_text_naming_the_decoded_id() -> None:
    async with http(fake_gerrit()) as client:
        by_number = await client.get("/a/changes/42")
        by_project = await client.get("/a/changes/acme%2Fdriver~42")
        elsewhere = await client.get("/a/changes/acme%2Fother~7")  # 7 is in acme/driver
    assert (by_number.status_code, by_number.text) == (404, "Not found: 42\n")
    assert by_number.headers["content-type"] == "text/plain; charset=UTF-8"
    assert by_project.text == "Not found: acme/driver~42\n"
    assert elsewhere.status_code == 404


async def test_a_review_records_the_votes_and_a_tagged_message() -> None:
    gerrit = fake_gerrit()
    review = {"message": "Build succeeded.", "labels": {"Verified": 1}, "tag": "ci:check"}
    async with http(gerrit) as client:
        answer = await client.post(
            f"/a/changes/acme%2Fdriver~7/revisions/{NEW}/review", json=review
        )
        change = body(await client.get("/a/changes/7", params={"o": ["DETAILED_LABELS"]}))
        messages = body(await client.get("/a/changes/7/messages"))
    assert body(answer) == {"labels": {"Verified": 1}}  # Gerrit's ReviewResult
    assert change["labels"]["Verified"]["all"] == [{"_account_id": CI.account_id, "value": 1}]
    (message,) = messages
    assert message["message"] == "Patch Set 2: Verified+1\n\nBuild succeeded."
    assert (message["tag"], message["_revision_number"]) == ("ci:check", 2)
    assert message["author"]["username"] == "ci"  # the messages endpoint details accounts
    assert gerrit.reviews == [review]


async def test_votes_on_an_abandoned_change_are_refused_a_comment_is_not() -> None:
    gerrit = fake_gerrit()
    gerrit.changes[7].status = "ABANDONED"
    url = f"/a/changes/7/revisions/{NEW}/review"
    async with http(gerrit) as client:
        vote = await client.post(url, json={"labels": {"Verified": -1}})
        comment = await client.post(url, json={"message": "recheck"})
    assert (vote.status_code, vote.text) == (409, "change is closed\n")
    assert comment.status_code == 200
    assert [m.text for m in gerrit.changes[7].messages] == ["Patch Set 2:\n\nrecheck"]


async def test_authentication_is_under_a_and_writes_need_it() -> None:
    async with http(fake_gerrit(), signed_in=False) as client:
        unsigned = await client.get("/a/changes/7")
        anonymous_read = await client.get("/changes/7")
        anonymous_write = await client.post(f"/changes/7/revisions/{NEW}/review", json={})
    async with httpx.AsyncClient(
        base_url="http://gerrit.test",
        transport=httpx.MockTransport(fake_gerrit()),
        auth=(CI.username, "wrong"),
    ) as client:
        wrong = await client.get("/a/changes/7")
    assert (unsigned.status_code, wrong.status_code, anonymous_read.status_code) == (401, 401, 200)
    assert (anonymous_write.status_code, anonymous_write.text) == (
        403,
        "Authentication required\n",
    )


async def test_options_shape_the_change_info_as_gerrits_do() -> None:
    async with http(fake_gerrit()) as client:

        async def change(*options: str) -> Any:
            return body(await client.get("/a/changes/7", params={"o": list(options)}))

        bare = await change()
        current = await change("CURRENT_REVISION", "CURRENT_FILES")
        every = await change("ALL_REVISIONS", "CURRENT_FILES", "ALL_COMMITS", "DETAILED_ACCOUNTS")
        unknown = await client.get("/a/changes/7", params={"o": "SKIP_DIFFSTAT"})
    assert "revisions" not in bare
    assert "current_revision" not in bare
    assert bare["owner"] == {"_account_id": DEV.account_id}
    assert bare["id"] == "acme%2Fdriver~7"
    assert current["current_revision"] == NEW
    assert list(current["revisions"]) == [NEW]
    assert current["revisions"][NEW]["ref"] == "refs/changes/07/7/2"
    assert "commit" not in current["revisions"][NEW]
    assert list(every["revisions"]) == [OLD, NEW]
    assert "files" not in every["revisions"][OLD]  # CURRENT_FILES: the current one's only
    assert every["revisions"][OLD]["commit"]["message"] == "A change\n"
    assert every["owner"]["username"] == "dev"
    assert unknown.status_code == 400


async def test_revisions_are_found_by_sha_prefix_number_and_current() -> None:
    async with http(fake_gerrit()) as client:
        by_prefix = await client.get(f"/a/changes/7/revisions/{OLD[:7]}/files")
        by_number = await client.get("/a/changes/7/revisions/1/files/")
        current = await client.get("/a/changes/7/revisions/current/files")
        missing = await client.get("/a/changes/7/revisions/3/files")
    assert (
        body(by_prefix)
        == body(by_number)
        == {
            "/COMMIT_MSG": {"status": "A"},
            "driver.py": {"lines_inserted": 3},
        }
    )
    assert body(current) == {"/COMMIT_MSG": {"status": "A"}}
    assert (missing.status_code, missing.text) == (404, "Not found: 3\n")


async def test_projects_are_listed_by_name_and_paged_with_more_projects_on_the_last() -> None:
    gerrit = FakeGerrit(projects=[Project("b/two"), Project("a/one"), Project("c/three")])
    async with http(gerrit) as client:
        first = body(await client.get("/a/projects/", params={"n": 3, "S": 0}))
        last = body(await client.get("/a/projects/", params={"n": 3, "S": 3}))
    assert list(first) == ["All-Projects", "All-Users", "a/one"]  # a site's own two first
    assert first["a/one"] == {"id": "a%2Fone", "state": "ACTIVE", "_more_projects": True}
    assert "_more_projects" not in first["All-Users"]
    assert list(last) == ["b/two", "c/three"]
    assert not any("_more_projects" in info for info in last.values())
    async with gerrit.rest() as rest:  # as crosscheck pages them
        assert await GerritProjects(rest, page=2).projects() == [*first, *last]


async def test_head_and_branches_read_as_gerrit_writes_them() -> None:
    gerrit = FakeGerrit(projects=[Project("acme/lib", "main", ("stable", "main"))])
    async with http(gerrit) as client:
        head = body(await client.get("/a/projects/acme%2Flib/HEAD"))
        branches = body(await client.get("/a/projects/acme%2Flib/branches/"))
        unknown = await client.get("/a/projects/acme%2Fgone/HEAD")
    assert head == "refs/heads/main"
    assert [b["ref"] for b in branches] == [
        "HEAD",
        "refs/meta/config",
        "refs/heads/main",
        "refs/heads/stable",
    ]
    assert branches[0]["revision"] == "main"  # HEAD's "revision" is the branch it names
    assert (unknown.status_code, unknown.text) == (404, "Not found: acme/gone\n")


async def test_a_change_query_pages_newest_updated_first() -> None:
    def change(number: int, day: int) -> Change:
        return Change(
            number, "p", [Revision(1, f"{number:040d}", f"2024-05-0{day} 10:00:00.000000000")]
        )

    gerrit = FakeGerrit([change(1, 3), change(2, 1), change(3, 2)])
    gerrit.changes[2].messages.append(
        Message(DEV.account_id, "Patch Set 1:\n\nhi", 1, "2024-05-04 09:00:00.000000000")
    )
    query: dict[str, Any] = {"q": 'after:"2024-05-02 00:00:00"', "n": 2}
    async with http(gerrit) as client:
        first = body(await client.get("/a/changes/", params={**query, "S": 0}))
        second = body(await client.get("/a/changes/", params={**query, "S": 2}))
        unknown = await client.get("/a/changes/", params={"q": "reviewer:self"})
    assert [(c["_number"], c.get("_more_changes")) for c in first] == [(2, None), (1, True)]
    assert [(c["_number"], c.get("_more_changes")) for c in second] == [(3, None)]
    assert unknown.status_code == 400
    assert [q.get("S") for q in gerrit.queries] == ["0", "2", None]


async def test_the_switches_down_fail_and_close_on_review() -> None:
    gerrit = fake_gerrit()
    gerrit.fail("GET /changes/*", 503, times=1)
    gerrit.fail("POST */review", httpx.ReadTimeout)
    async with http(gerrit) as client:
        assert (await client.get("/a/changes/7")).status_code == 503
        assert (await client.get("/a/changes/7")).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"/a/changes/7/revisions/{NEW}/review", json={})
        gerrit.down = True
        with pytest.raises(httpx.ConnectError, match="connection refused"):
            await client.get("/a/changes/7")
    assert gerrit.reads == 3
    closing = fake_gerrit()
    closing.close_on_review(7)
    async with http(closing) as client:
        voted = await client.post(f"/a/changes/7/revisions/{NEW}/review", json={"labels": {"V": 1}})
    assert voted.status_code == 409
    assert closing.changes[7].status == "ABANDONED"
