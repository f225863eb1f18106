"""Fixtures for executor tests: an upstream of local git repositories, requests, an executor."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache
from crosscheck.model.build import BuildRequest, change_ref
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Account, Change, Event, PatchSet
from crosscheck.model.job import Job, RequiredProject, RunStep
from tests.unit.executor.gitrepos import Upstream

PROJECT = "acme/driver"


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    up = Upstream(tmp_path / "upstream")
    up.create(PROJECT, {"README": "hello\n", "shared.txt": "line 1\nline 2\n"})
    return up


def connection_for(upstream: Upstream, **overrides: object) -> GerritConnection:
    values: dict[str, object] = {
        "name": "upstream",
        "host": "review.example.org",
        "user": "acme-ci",
        "http_url": upstream.url,
        "ssh_port": 29418,
    }
    values.update(overrides)
    return GerritConnection(**values)  # type: ignore[arg-type]


def change_event(
    number: int = 1042,
    patchset: int = 1,
    revision: str = "0" * 40,
    *,
    project: str = PROJECT,
    branch: str = "master",
    comment: str | None = None,
) -> Event:
    owner = Account("Ada Lovelace", "ada@example.org", "ada")
    change = Change(
        project=project,
        branch=branch,
        number=number,
        change_id="I" + "a" * 40,
        subject="Fix the driver",
        url=f"https://review.example.org/c/{project}/+/{number}",
        owner=owner,
        topic="storage",
        hashtags=("perf", "driver"),
    )
    return Event(
        type=EventType.COMMENT_ADDED if comment else EventType.PATCHSET_CREATED,
        connection="upstream",
        created_on=1_700_000_000,
        received_at=time.time(),
        project=project,
        change=change,
        patchset=PatchSet(patchset, revision, change_ref(number, patchset), uploader=owner),
        account=owner,
        comment=comment,
    )


MakeRequest = Callable[..., BuildRequest]


@pytest.fixture
def make_request(upstream: Upstream) -> MakeRequest:
    counter = iter(range(1, 1000))

    def make(
        *steps: str,
        event: Event | None = None,
        timeout: int = 60,
        required: tuple[RequiredProject, ...] = (),
        env: dict[str, str] | None = None,
        connection: GerritConnection | None = None,
        job: str = "acme-unit",
    ) -> BuildRequest:
        return BuildRequest(
            build_id=f"b{next(counter)}",
            attempt=1,
            pipeline="check",
            job=Job(
                name=job,
                node="local",
                run=tuple(RunStep(shell=s) for s in steps),
                timeout=timeout,
                required_projects=required,
                env=env or {},
            ),
            event=event or change_event(),
            connection=connection or connection_for(upstream),
        )

    return make


@pytest.fixture
def provider(tmp_path: Path) -> LocalNodeProvider:
    return LocalNodeProvider(tmp_path / "work", slots=2, kill_grace=1.0)


@pytest.fixture
def executor(tmp_path: Path, provider: LocalNodeProvider) -> Executor:
    return Executor(provider, tmp_path / "logs", MirrorCache(tmp_path / "git"))


@pytest.fixture
def private() -> Iterator[Path]:
    """A directory of the service's outside /tmp (a confined step has a /tmp of its own,
    so whatever is under the host's is out of its sight anyway): in /var/tmp, as /etc
    or a home directory would be."""
    path = Path(tempfile.mkdtemp(prefix="crosscheck-private-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path)
