"""Following `Depends-On:` across two Gerrits: the order, the problems, and what is retried."""

from __future__ import annotations

import pytest

from crosscheck.drivers.base import DriverError, DriverNotFoundError, FoundPatchset
from crosscheck.model.events import Change, PatchSet
from crosscheck.scheduler.dependencies import (
    MAX_DEPENDENCIES,
    DependencyProblem,
    resolve_dependencies,
)

UP = "https://review.opendev.org"
INT = "https://gerrit.opnfv.org/gerrit"
BASES = {"upstream": f"{UP}/", "integrating": INT}


class FakeGerrits:
    """Changes by (connection, number); records each lookup."""

    def __init__(self) -> None:
        self.changes: dict[tuple[str, int], FoundPatchset] = {}
        self.lookups: list[tuple[str, int]] = []
        self.down: set[str] = set()

    def add(
        self, connection: str, number: int, *depends_on: str, status: str = "NEW", project: str = ""
    ) -> None:
        footers = "".join(f"Depends-On: {url}\n" for url in depends_on)
        change = Change(
            project=project or f"{connection}/p{number}",
            branch="master",
            number=number,
            status=status,
            commit_message=f"Change {number}\n\n{footers}",
        )
        ref = f"refs/changes/{number % 100:02d}/{number}/2"
        self.changes[connection, number] = FoundPatchset(change, PatchSet(2, f"sha{number}", ref))

    async def lookup(self, connection: str, number: int) -> FoundPatchset:
        self.lookups.append((connection, number))
        if connection in self.down:
            raise DriverError(f"{connection} is unreachable")
        try:
            return self.changes[connection, number]
        except KeyError:
            raise DriverNotFoundError(f"no change {number}") from None


def up(number: int) -> str:
    return f"{UP}/c/{number}"


def integrating(number: int) -> str:
    return f"{INT}/c/{number}"


def footers(*urls: str) -> str:
    return "Trigger\n\n" + "".join(f"Depends-On: {url}\n" for url in urls)


async def resolve(gerrits: FakeGerrits, message: str) -> list[str]:
    """The labels of what change upstream:1 with `message` depends on, in order."""
    found = await resolve_dependencies("upstream", 1, message, gerrits.lookup, BASES)
    return [dependency.label for dependency in found]


async def problem(gerrits: FakeGerrits, message: str) -> str:
    with pytest.raises(DependencyProblem) as raised:
        await resolve_dependencies("upstream", 1, message, gerrits.lookup, BASES)
    return str(raised.value)


async def test_no_footers_no_dependencies_and_no_lookup() -> None:
    gerrits = FakeGerrits()
    assert await resolve(gerrits, "Just a change\n\nChange-Id: I0123") == []
    assert gerrits.lookups == []


async def test_a_dependency_as_its_gerrit_shows_it() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 7, project="releng")
    [dependency] = await resolve_dependencies(
        "upstream", 1, footers(f"{INT}/#/c/7/"), gerrits.lookup, BASES
    )
    assert dependency.connection == "integrating"
    assert (dependency.project, dependency.branch, dependency.number) == ("releng", "master", 7)
    assert (dependency.patchset, dependency.revision) == (2, "sha7")
    assert dependency.ref == "refs/changes/07/7/2"
    assert dependency.url == f"{INT}/c/releng/+/7"
    assert dependency.status == "NEW"


async def test_the_same_number_on_two_gerrits_is_two_changes() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 5)
    gerrits.add("integrating", 5)
    assert await resolve(gerrits, footers(up(5), integrating(5))) == [
        "upstream:5,2",
        "integrating:5,2",
    ]


async def test_a_chain_across_gerrits_comes_deepest_first() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 2, up(3))
    gerrits.add("upstream", 3, integrating(4))
    gerrits.add("integrating", 4)
    assert await resolve(gerrits, footers(integrating(2))) == [
        "integrating:4,2",
        "upstream:3,2",
        "integrating:2,2",
    ]


async def test_a_diamond_has_each_change_once_after_what_it_needs() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, integrating(4))
    gerrits.add("upstream", 3, f"{INT}/c/integrating/p4/+/4/1")
    gerrits.add("integrating", 4)
    assert await resolve(gerrits, footers(up(2), up(3))) == [
        "integrating:4,2",
        "upstream:2,2",
        "upstream:3,2",
    ]
    assert gerrits.lookups.count(("integrating", 4)) == 1


async def test_a_cycle_of_two() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, integrating(3))
    gerrits.add("integrating", 3, up(2))
    message = await problem(gerrits, footers(up(2)))
    assert "(upstream:2 -> integrating:3 -> upstream:2)" in message
    assert message.startswith(f"{INT}/c/integrating/p3/+/3 has a Depends-On footer")


async def test_a_cycle_of_three() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, integrating(3))
    gerrits.add("integrating", 3, up(4))
    gerrits.add("upstream", 4, up(2))
    message = await problem(gerrits, footers(up(2)))
    assert "(upstream:2 -> integrating:3 -> upstream:4 -> upstream:2)" in message


async def test_a_change_that_depends_on_itself() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 2, integrating(2))
    message = await problem(gerrits, footers(integrating(2)))
    assert "(integrating:2 -> integrating:2)" in message


async def test_the_triggering_change_naming_itself() -> None:
    message = await problem(FakeGerrits(), footers(f"{UP}/c/p/+/1"))
    assert message.startswith(f"{UP}/c/1 has a Depends-On footer that closes a cycle")
    assert "(upstream:1 -> upstream:1)" in message


async def test_a_cycle_back_to_the_triggering_change() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 2, up(3))
    gerrits.add("upstream", 3, up(1))
    message = await problem(gerrits, footers(integrating(2)))
    assert "(upstream:1 -> integrating:2 -> upstream:3 -> upstream:1)" in message


async def test_a_missing_dependency() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, integrating(9))
    message = await problem(gerrits, footers(up(2)))
    assert message == (
        f"{UP}/c/upstream/p2/+/2 depends on {INT}/c/9, which is not found on integrating "
        "(deleted, or hidden from the CI's account): fix or remove its Depends-On footer"
    )


async def test_an_abandoned_dependency() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 2, status="ABANDONED", project="releng")
    message = await problem(gerrits, footers(integrating(2)))
    assert message == (
        f"{UP}/c/1 depends on {INT}/c/releng/+/2, which is abandoned: "
        "restore it or remove the Depends-On footer"
    )


async def test_a_merged_dependency_is_kept_but_not_followed() -> None:
    gerrits = FakeGerrits()
    # Its footer names a change that is gone: reading it would fail the walk.
    gerrits.add("upstream", 2, integrating(99), status="MERGED")
    [dependency] = await resolve_dependencies("upstream", 1, footers(up(2)), gerrits.lookup, BASES)
    assert (dependency.label, dependency.status, dependency.merged) == (
        "upstream:2,2",
        "MERGED",
        True,
    )
    assert gerrits.lookups == [("upstream", 2)]


async def test_an_unknown_gerrit_names_the_change_and_the_configured_ones() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, "https://github.com/a/b/pull/3")
    message = await problem(gerrits, footers(up(2)))
    assert message.startswith(f"{UP}/c/upstream/p2/+/2 has a bad Depends-On footer: ")
    assert message.endswith(
        "`https://github.com/a/b/pull/3` is not on a Gerrit this CI is connected to "
        "(connections: upstream, integrating)"
    )
    # The connections by name: their URLs are not for a comment on a public change.
    assert INT not in message


async def test_a_change_id_footer_asks_for_the_url() -> None:
    message = await problem(FakeGerrits(), footers("I0123456789abcdef0123456789abcdef01234567"))
    assert message.startswith(f"{UP}/c/1 has a bad Depends-On footer: ")
    assert "is a Change-Id" in message
    assert "write the change's URL instead" in message


async def test_a_url_that_is_not_a_change() -> None:
    message = await problem(FakeGerrits(), footers(f"{UP}/q/status:open"))
    assert "is not a change's URL: expected" in message


async def test_as_many_dependencies_as_the_cap_allows() -> None:
    gerrits = FakeGerrits()
    for number in range(2, MAX_DEPENDENCIES + 2):
        gerrits.add("upstream", number)
    urls = [up(number) for number in range(2, MAX_DEPENDENCIES + 2)]
    assert len(await resolve(gerrits, footers(*urls))) == MAX_DEPENDENCIES


async def test_one_more_than_the_cap_is_too_many_and_stops_looking() -> None:
    gerrits = FakeGerrits()
    # A chain: the cap counts every level, not only the direct footers.
    for number in range(2, MAX_DEPENDENCIES + 3):
        gerrits.add("upstream", number, up(number + 1))
    gerrits.add("upstream", MAX_DEPENDENCIES + 3)
    message = await problem(gerrits, footers(up(2)))
    assert message.startswith(f"{UP}/c/1 has too many dependencies: more than 32 changes")
    assert len(gerrits.lookups) == MAX_DEPENDENCIES


async def test_a_gerrit_that_cannot_answer_is_not_a_problem_of_the_change() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, integrating(3))
    gerrits.add("integrating", 3)
    gerrits.down.add("integrating")
    with pytest.raises(DriverError) as raised:
        await resolve(gerrits, footers(up(2)))
    assert type(raised.value) is DriverError
    assert str(raised.value) == "integrating is unreachable"


MARKUP = "[click](https://evil.example/x) <script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.mark.parametrize(
    "value",
    [
        MARKUP,
        f"{UP}/c/{MARKUP}",
        f"{UP}/{MARKUP}",
        f"I0123456789abcdef0123456789abcdef01234567 {MARKUP}",
        f"{UP}/c/{'p' * 3000}{MARKUP}",
        f"`{MARKUP}`\x1b[2J",
    ],
)
async def test_a_footers_markup_is_not_posted_by_the_ci(value: str) -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, value)
    message = await problem(gerrits, footers(up(2)))
    assert message.startswith(f"{UP}/c/upstream/p2/+/2 has a bad Depends-On footer: `")
    assert MARKUP not in message
    outside_code = "".join(message.split("`")[::2])
    for markup in ("[click]", "](", "<script", "<img", "evil.example"):
        assert markup not in outside_code
    assert all(len(span) <= 80 for span in message.split("`")[1::2])
    assert not any(ord(c) < 0x20 for c in message)


async def test_prose_around_a_footer_is_not_its_url() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 366, project="openstack/nova")
    gerrits.add("integrating", 7, project="releng")
    gerrits.add("integrating", 8)
    message = footers(f"<{UP}/c/366>", f"{INT}/c/releng/+/7).", f"({integrating(8)}),")
    assert await resolve(gerrits, message) == [
        "upstream:366,2",
        "integrating:7,2",
        "integrating:8,2",
    ]


async def test_a_url_naming_the_changes_project_is_read() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 366, project="apex")
    [dependency] = await resolve_dependencies(
        "upstream", 1, footers(f"{INT}/c/apex/+/366"), gerrits.lookup, BASES
    )
    assert (dependency.label, dependency.project) == ("integrating:366,2", "apex")


async def test_a_project_name_escaped_in_the_url_is_read_as_gerrit_names_it() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 5, project="openstack/nova")
    assert await resolve(gerrits, footers(f"{UP}/c/openstack%2Fnova/+/5")) == ["upstream:5,2"]


async def test_a_url_naming_another_project_than_the_changes_is_refused() -> None:
    gerrits = FakeGerrits()
    gerrits.add("integrating", 366, project="apex")
    value = f"{INT}/c/t1/nova/+/366"
    message = await problem(gerrits, footers(value))
    assert message == (
        f"{UP}/c/1 has a bad Depends-On footer: `{value}` names project `t1/nova` "
        "but change 366 on integrating is on project `apex`: fix the Depends-On footer"
    )


async def test_the_project_is_checked_in_the_old_ui_form_too() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 366, project="openstack/nova")
    message = await problem(gerrits, footers(f"{UP}/#/c/openstack/neutron/+/366/"))
    assert "names project `openstack/neutron` but change 366 on upstream" in message


async def test_the_project_is_checked_when_a_change_is_reached_a_second_time() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, f"{INT}/c/releng/+/4")
    gerrits.add("upstream", 3, f"{INT}/c/apex/+/4")
    gerrits.add("integrating", 4, project="releng")
    message = await problem(gerrits, footers(up(2), up(3)))
    assert message.startswith(f"{UP}/c/upstream/p3/+/3 has a bad Depends-On footer: ")
    assert "names project `apex` but change 4 on integrating is on project `releng`" in message
    assert gerrits.lookups.count(("integrating", 4)) == 1


async def test_a_project_taken_from_the_url_is_shown_inert() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 9, project="nova")
    message = await problem(gerrits, footers(f"{UP}/c/[x](https:%2F%2Fevil.example)/+/9"))
    assert "names project `[x](https://evil.example)` but change 9" in message
    outside_code = "".join(message.split("`")[::2])
    assert "evil.example" not in outside_code


async def test_a_dependency_on_another_branch_is_resolved() -> None:
    gerrits = FakeGerrits()
    gerrits.add("upstream", 2, project="openstack/nova")
    found = gerrits.changes["upstream", 2]
    other = FoundPatchset(
        Change(
            project="openstack/nova",
            branch="stable/2024.1",
            number=2,
            status="NEW",
            commit_message="Backport",
        ),
        found.patchset,
    )
    gerrits.changes["upstream", 2] = other
    [dependency] = await resolve_dependencies(
        "upstream", 1, footers(f"{UP}/c/openstack/nova/+/2"), gerrits.lookup, BASES
    )
    assert dependency.branch == "stable/2024.1"
