"""A candidate's build on real git repositories: every component at its commit, side by
side, the pinned versions and their variables; only its components' secrets read."""

from __future__ import annotations

from pathlib import Path

from crosscheck.executor.executor import Executor
from crosscheck.model.build import BuildRequest, BuildResult
from crosscheck.model.events import (
    CANDIDATE_EVENT,
    PROMOTION,
    CandidateComponent,
    CandidateItem,
    Event,
    Origin,
)
from crosscheck.model.job import Job, RunStep

from .conftest import PROJECT, connection_for
from .gitrepos import Upstream
from .test_executor import console as console_of


def candidate_request(upstream: Upstream, tmp_path: Path, *steps: str) -> BuildRequest:
    driver = upstream.commit(PROJECT, {"driver.txt": "v1\n"}, "pinned")
    upstream.commit(PROJECT, {"driver.txt": "v2\n"}, "newer")  # the candidate pins v1
    lib = upstream.create("plain/lib", {"lib.txt": "lib\n"})
    candidate = CandidateItem(
        "c" * 64,
        "os-nosdn",
        "verified",
        (
            CandidateComponent("driver", driver, "upstream", PROJECT),
            CandidateComponent("vpp-lib", lib, git_url=str(upstream.root / "plain/lib")),
        ),
    )
    event = Event(CANDIDATE_EVENT, PROMOTION, 1_700_000_000, project="os-nosdn",
                  origin=Origin.PROMOTION, candidate=candidate)  # fmt: skip
    connections = {
        "upstream": connection_for(upstream),
        # A connection no component lives on, whose password cannot be read: it must
        # not refuse the build.
        "broken": connection_for(
            upstream, name="broken", http_password_file=tmp_path / "missing-password"
        ),
    }
    job = Job(name="deploy", node="local", run=tuple(RunStep(shell=s) for s in steps))
    return BuildRequest("b1", 1, "daily", job, event, None, connections)


async def test_each_component_is_checked_out_at_its_commit(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    request = candidate_request(
        upstream,
        tmp_path,
        'test "$(cat driver/driver.txt)" = v1',  # the pinned commit, not the tip
        "test -f vpp-lib/lib.txt",
        'test "$CROSSCHECK_VERSION_DRIVER" = "$(git -C driver rev-parse HEAD)"',
        'test "$CROSSCHECK_VERSION_VPP_LIB" = "$(git -C vpp-lib rev-parse HEAD)"',
        'grep -q "candidate: $CROSSCHECK_CANDIDATE" pinned-versions.yaml',
        'test "$CROSSCHECK_LEVEL" = verified',
        'test -z "$GERRIT_PROJECT"',  # no Gerrit event behind a candidate
    )
    outcome = await executor.run(request)
    console = console_of(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, console
    assert "preparing candidate cccccccccccc of os-nosdn" in console


async def test_a_commit_gone_from_its_component_is_an_error_not_a_failure(
    executor: Executor, upstream: Upstream, tmp_path: Path
) -> None:
    request = candidate_request(upstream, tmp_path, "true")
    assert request.event.candidate is not None
    gone = request.event.candidate.components[0]
    broken = CandidateItem("d" * 64, "os-nosdn", "verified",
                           (CandidateComponent("driver", "f" * 40, gone.connection,
                                               gone.project),))  # fmt: skip
    event = Event(CANDIDATE_EVENT, PROMOTION, 1, project="os-nosdn", candidate=broken)
    outcome = await executor.run(
        BuildRequest("b2", 1, "daily", request.job, event, None, request.connections)
    )
    assert outcome.result is BuildResult.ERROR
    assert "component driver has no commit ffff" in (outcome.detail or "")
