"""GerritChanges: whether a revision is still worth building, in one REST request."""

from __future__ import annotations

import pytest

from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.drivers.gerrit.errors import GerritNotFoundError, GerritUnreachableError
from crosscheck.model.connection import GerritConnection
from tests.fakes.gerrit import Change, FakeGerrit, Revision

OLD = "1" * 40
CURRENT = "2" * 40

CONNECTION = GerritConnection(name="review", host="h", user="ci", http_url="http://h/")


def fake_gerrit(status: str = "NEW") -> FakeGerrit:
    """Change 12 at patchset 2, its first patchset a merge (Gerrit lists /MERGE_LIST)."""
    old = Revision(1, OLD, files={"/COMMIT_MSG": {}, "/MERGE_LIST": {}, "old.py": {}})
    files = {"/COMMIT_MSG": {}, "driver.py": {"lines_inserted": 3}, "doc/x.rst": {}}
    current = Revision(2, CURRENT, files=files)
    return FakeGerrit([Change(12, "acme/driver", [old, current], status=status)])


def changes_on(gerrit: FakeGerrit) -> GerritChanges:
    return GerritChanges(gerrit.rest(), CONNECTION)


async def test_the_current_revision_comes_with_its_files_in_one_request() -> None:
    gerrit = fake_gerrit()
    requests = gerrit.requests
    state = await changes_on(gerrit).change_state("acme/driver", 12, CURRENT)
    assert (state.status, state.current_patchset, state.current_revision) == ("NEW", 2, CURRENT)
    assert state.files == ("driver.py", "doc/x.rst")  # Gerrit's /COMMIT_MSG is not in the tree
    assert not state.closed
    assert state.is_current(CURRENT)
    (request,) = requests
    assert request.url.params.get_list("o") == ["CURRENT_REVISION", "CURRENT_FILES"]


async def test_an_older_revision_is_not_current_and_its_files_are_a_second_request() -> None:
    gerrit = fake_gerrit()
    requests = gerrit.requests
    changes = changes_on(gerrit)
    state = await changes.change_state("acme/driver", 12, OLD)
    assert not state.is_current(OLD)
    assert state.files is None
    assert len(requests) == 1
    assert await changes.revision_files("acme/driver", 12, OLD) == ["old.py"]


@pytest.mark.parametrize("status", ["ABANDONED", "MERGED"])
async def test_an_abandoned_or_merged_change_is_closed(status: str) -> None:
    state = await changes_on(fake_gerrit(status)).change_state("acme/driver", 12, CURRENT)
    assert state.closed
    assert state.status == status


async def test_a_change_gerrit_does_not_show_raises_not_found() -> None:
    with pytest.raises(GerritNotFoundError):
        await changes_on(FakeGerrit()).change_state("acme/driver", 12, CURRENT)


async def test_an_unreachable_gerrit_raises_so_the_item_waits() -> None:
    gerrit = fake_gerrit()
    gerrit.down = True
    with pytest.raises(GerritUnreachableError):
        await changes_on(gerrit).change_state("acme/driver", 12, CURRENT)
