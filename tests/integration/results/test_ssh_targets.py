"""`verify-status save` over SSH: complete or abbreviated commit ids, as the plugin takes
them, and errors whose advice names a form this command accepts."""

from __future__ import annotations

from crosscheck.model.results import ResultValue
from tests.integration.results.helpers import new_result, stored_count
from tests.integration.results.test_ssh import SshHarness, ssh

__all__ = ["ssh"]  # the fixture, used by name

FIRST = "14a95001" + "0" * 32
SECOND = "14a95002" + "0" * 32
SAVE = "verify-status save -v 'name=arm64|value=1|duration=2m' "


async def _seed(ssh: SshHarness) -> None:
    await ssh.service.report(
        "Nova CI",
        [
            new_result(change=1000, patchset=1, revision=FIRST),
            new_result(change=1000, patchset=2, revision=SECOND),
        ],
    )


async def test_complete_and_abbreviated_commits_name_their_patchset(ssh: SshHarness) -> None:
    await _seed(ssh)
    for target in (SECOND, "14a95002", "14A9500200"):
        done = await ssh.run(SAVE + target)
        assert done.exit_status == 0, done.stderr
    found = await ssh.service.change_results(1000, patchset=2, current=False, job="arm64")
    assert [(r.revision, r.value, r.duration) for r in found] == [
        (SECOND, ResultValue.PASSED, 120.0)
    ] * 3


async def test_an_ambiguous_commit_is_refused_with_the_candidates(ssh: SshHarness) -> None:
    await _seed(ssh)
    done = await ssh.run(SAVE + "14a9500")
    assert done.exit_status == 1
    assert "commit 14a9500 is ambiguous" in str(done.stderr)
    assert "14a950010000 (change 1000,1)" in str(done.stderr)
    assert "give more of its digits" in str(done.stderr)
    assert await stored_count(ssh.service) == 2


async def test_every_error_advises_a_form_this_command_takes(ssh: SshHarness) -> None:
    unknown_change = await ssh.run(SAVE + "999,1")
    assert unknown_change.exit_status == 2
    assert "add -p PROJECT" in str(unknown_change.stderr)
    assert "~" not in str(unknown_change.stderr)  # no PROJECT~N: this command has no such form
    with_project = await ssh.run("verify-status save -p openstack/nova "
                                 "-v 'name=arm64|value=1' 999,1")  # fmt: skip
    assert with_project.exit_status == 0, with_project.stderr
    unknown_commit = await ssh.run(SAVE + "deadbeef")
    assert unknown_commit.exit_status == 2
    assert "as CHANGE,PS with -p PROJECT" in str(unknown_commit.stderr)
    neither = await ssh.run(SAVE + "x,1")
    assert neither.exit_status == 2
    assert "complete or abbreviated" in str(neither.stderr)


async def test_a_started_build_is_in_progress(ssh: SshHarness) -> None:
    done = await ssh.run(
        "verify-status save -p openstack/nova -v 'name=arm64|value=0|duration=pending' 1000,1"
    )
    assert done.exit_status == 0, done.stderr
    (found,) = await ssh.service.change_results(1000)
    assert (found.value, found.duration) == (ResultValue.IN_PROGRESS, None)
