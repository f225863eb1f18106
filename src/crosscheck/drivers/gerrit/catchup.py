"""Events missed while the stream was down, rebuilt from Gerrit's REST API.

There is no replay in Gerrit without the events-log plugin, so crosscheck asks
which changes were updated since the last event it processed, and rebuilds the
patchset-created and comment-added events from their revisions and messages. The
intake drops the ones the stream delivered too.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.model.events import (
    Account,
    Approval,
    Change,
    Event,
    EventType,
    Origin,
    PatchSet,
)

#: Query a little before the cursor: Gerrit's `after:` has one-second precision.
MARGIN_SECONDS = 60
PAGE_SIZE = 100
VOTE = re.compile(r"(?:^|\s)([A-Za-z0-9-]+)([+-]\d+)(?=\s|$)")


async def missed_events(rest: GerritRestClient, connection: str, since: float) -> list[Event]:
    """Every patchset-created and comment-added event after `since`, oldest first."""
    floor = since - MARGIN_SECONDS
    events: list[Event] = []
    async for change in _changes_updated_after(rest, floor):
        events.extend(e for e in change_events(change, connection) if e.created_on >= floor)
    return sorted(events, key=lambda e: (e.created_on, e.type))


async def _changes_updated_after(rest: GerritRestClient, floor: float) -> AsyncIterator[Any]:
    after = datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%d %H:%M:%S")
    start = 0
    while True:
        page = await rest.get(
            "/changes/",
            params={
                "q": f'after:"{after}"',
                "n": PAGE_SIZE,
                "S": start,
                "o": ["ALL_REVISIONS", "MESSAGES", "DETAILED_ACCOUNTS"],
            },
        )
        for change in page:
            yield change
        if not page or not page[-1].get("_more_changes"):
            return
        start += len(page)


def change_events(data: dict[str, Any], connection: str) -> list[Event]:
    change = _change(data)
    revisions = {rev.get("_number"): (sha, rev) for sha, rev in data.get("revisions", {}).items()}
    events = [
        _patchset_created(change, connection, sha, rev)
        for sha, rev in data.get("revisions", {}).items()
    ]
    for message in data.get("messages", []):
        number = message.get("_revision_number")
        if number in revisions and message.get("author"):
            sha, rev = revisions[number]
            events.append(_comment_added(change, connection, _patchset(sha, rev), message))
    return events


def _change(data: dict[str, Any]) -> Change:
    return Change(
        project=data["project"],
        branch=data.get("branch", ""),
        number=data["_number"],
        change_id=data.get("change_id", ""),
        subject=data.get("subject", ""),
        owner=_account(data.get("owner")),
        topic=data.get("topic"),
        status=data.get("status", "NEW"),
        wip=bool(data.get("work_in_progress")),
        private=bool(data.get("is_private")),
        hashtags=tuple(data.get("hashtags", [])),
    )


def _patchset(sha: str, rev: dict[str, Any]) -> PatchSet:
    return PatchSet(
        number=rev["_number"],
        revision=sha,
        ref=rev.get("ref", ""),
        uploader=_account(rev.get("uploader")),
        kind=rev.get("kind", ""),
        created_on=_epoch(rev.get("created")),
    )


def _patchset_created(change: Change, connection: str, sha: str, rev: dict[str, Any]) -> Event:
    patchset = _patchset(sha, rev)
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection=connection,
        created_on=patchset.created_on,
        project=change.project,
        change=change,
        patchset=patchset,
        account=patchset.uploader,
        origin=Origin.CATCHUP,
    )


def _comment_added(
    change: Change, connection: str, patchset: PatchSet, message: dict[str, Any]
) -> Event:
    text = message.get("message", "")
    return Event(
        type=EventType.COMMENT_ADDED,
        connection=connection,
        created_on=_epoch(message.get("date")),
        project=change.project,
        change=change,
        patchset=patchset,
        account=_account(message.get("author")),
        comment=text,
        approvals=votes_in(text),
        origin=Origin.CATCHUP,
    )


def votes_in(message: str) -> tuple[Approval, ...]:
    """The votes a change message records on its first line: `Patch Set 2: Verified+1`."""
    first = message.split("\n", 1)[0]
    _, _, votes = first.partition(":")
    return tuple(Approval(label, int(value)) for label, value in VOTE.findall(votes))


def _account(value: Any) -> Account | None:
    if not isinstance(value, dict):
        return None
    return Account(name=value.get("name"), email=value.get("email"), username=value.get("username"))


def _epoch(timestamp: Any) -> int:
    """Gerrit's UTC `2026-11-23 09:05:35.000000000` as whole seconds since the epoch."""
    if not isinstance(timestamp, str):
        return 0
    moment = datetime.strptime(timestamp[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp())
