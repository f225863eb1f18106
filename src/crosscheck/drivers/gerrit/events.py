"""Gerrit's event JSON (stream-events, webhooks) into typed events.

Gerrit may leave out any field, so nothing here assumes one is present. A line
that is not JSON, or not an object, or an event about a change without the change
(or a patchset event without its patchset) raises EventParseError; an unknown type
becomes a generic event with the fields every event has.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from crosscheck.model.event_types import EventType
from crosscheck.model.events import Account, Approval, Change, Event, Origin, PatchSet, RefUpdate

#: The field that names who caused each type of event.
ACTOR_FIELDS = {
    EventType.PATCHSET_CREATED: "uploader",
    EventType.COMMENT_ADDED: "author",
    EventType.CHANGE_MERGED: "submitter",
    EventType.CHANGE_ABANDONED: "abandoner",
    EventType.CHANGE_RESTORED: "restorer",
    EventType.REF_UPDATED: "submitter",
    EventType.WIP_STATE_CHANGED: "changer",
    EventType.PRIVATE_STATE_CHANGED: "changer",
    EventType.TOPIC_CHANGED: "changer",
    EventType.HASHTAGS_CHANGED: "editor",
    EventType.REVIEWER_ADDED: "adder",
    EventType.CHANGE_DELETED: "deleter",
}


class EventParseError(ValueError):
    """A line that is not a Gerrit event at all."""


def parse_line(line: str | bytes, connection: str, origin: Origin = Origin.STREAM) -> Event:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise EventParseError(f"not JSON: {error}") from error
    return parse_event(data, connection, origin)


def parse_event(data: Any, connection: str, origin: Origin = Origin.STREAM) -> Event:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise EventParseError("not an event: a JSON object with a 'type' is expected")
    kind = data["type"]
    change = _change(data.get("change"))
    patchset = _patchset(data.get("patchSet"))
    _check_complete(kind, change, patchset)
    return Event(
        type=kind,
        connection=connection,
        created_on=_int(data.get("eventCreatedOn")),
        received_at=time.time(),
        project=_project(data.get("project"))
        or (change.project if change else None)
        or _project(_dict(data.get("refUpdate")).get("project")),
        change=change,
        patchset=patchset,
        account=parse_account(data.get(ACTOR_FIELDS.get(kind, ""))),
        comment=_text(data.get("comment") or data.get("reason")),
        approvals=tuple(a for a in map(_approval, _list(data.get("approvals"))) if a),
        ref_update=_ref_update(data.get("refUpdate")),
        reviewer=parse_account(data.get("reviewer")),
        extra=_extra(data),
        origin=origin,
    )


#: Event types about a change: Gerrit always sends the change, and for these also the
#: patchset. One without them (a hand-made webhook POST, a truncated line) would
#: otherwise become an item of the branch tip and run the project's jobs.
CHANGE_EVENTS = frozenset(EventType) - {EventType.REF_UPDATED}
PATCHSET_EVENTS = frozenset(
    {EventType.PATCHSET_CREATED, EventType.COMMENT_ADDED, EventType.CHANGE_MERGED}
)


def _check_complete(kind: str, change: Change | None, patchset: PatchSet | None) -> None:
    if kind in CHANGE_EVENTS and change is None:
        raise EventParseError(f"a {kind} event without its change (project and number)")
    if kind in PATCHSET_EVENTS and patchset is None:
        raise EventParseError(f"a {kind} event without its patchset (number and revision)")


def _project(value: Any) -> str | None:
    """A project is a string in stream-events and may be {"name": ...} from webhooks."""
    if isinstance(value, dict):
        value = value.get("name")
    return value if isinstance(value, str) and value else None


def _change(value: Any) -> Change | None:
    data = _dict(value)
    project, number = _project(data.get("project")), _int(data.get("number"))
    if project is None or not number:
        return None
    return Change(
        project=project,
        branch=_text(data.get("branch")) or "",
        number=number,
        change_id=_text(data.get("id")) or "",
        subject=_text(data.get("subject")) or "",
        url=_text(data.get("url")) or "",
        owner=parse_account(data.get("owner")),
        topic=_text(data.get("topic")),
        status=_text(data.get("status")) or "NEW",
        wip=data.get("wip") is True,
        private=data.get("private") is True,
        commit_message=_text(data.get("commitMessage")) or "",
        hashtags=tuple(h for h in _list(data.get("hashtags")) if isinstance(h, str)),
    )


def _patchset(value: Any) -> PatchSet | None:
    data = _dict(value)
    number, revision = _int(data.get("number")), _text(data.get("revision"))
    if not number or not revision:
        return None
    return PatchSet(
        number=number,
        revision=revision,
        ref=_text(data.get("ref")) or "",
        parents=tuple(p for p in _list(data.get("parents")) if isinstance(p, str)),
        uploader=parse_account(data.get("uploader")),
        author=parse_account(data.get("author")),
        kind=_text(data.get("kind")) or "",
        created_on=_int(data.get("createdOn")),
    )


def parse_account(value: Any) -> Account | None:
    """An account as Gerrit's events and REST API both write it."""
    data = _dict(value)
    if not data:
        return None
    return Account(
        name=_text(data.get("name")),
        email=_text(data.get("email")),
        username=_text(data.get("username")),
    )


def _approval(value: Any) -> Approval | None:
    data = _dict(value)
    label, number = _text(data.get("type")), _vote(data.get("value"))
    if label is None or number is None:
        return None
    return Approval(label=label, value=number, old_value=_vote(data.get("oldValue")))


def _ref_update(value: Any) -> RefUpdate | None:
    data = _dict(value)
    ref = _text(data.get("refName"))
    if ref is None:
        return None
    return RefUpdate(
        project=_project(data.get("project")) or "",
        ref=ref,
        old_rev=_text(data.get("oldRev")) or "",
        new_rev=_text(data.get("newRev")) or "",
    )


def _extra(data: dict[str, Any]) -> dict[str, str]:
    """Type-specific scalars worth keeping: newRev, oldTopic, added/removed hashtags."""
    extra = {}
    for key in ("newRev", "oldTopic"):
        if isinstance(data.get(key), str):
            extra[key] = data[key]
    for key in ("added", "removed"):
        values = [v for v in _list(data.get(key)) if isinstance(v, str)]
        if values:
            extra[key] = ",".join(values)
    return extra


def _vote(value: Any) -> int | None:
    """Votes arrive as strings ("1", "-1"), sometimes as numbers."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_timestamp(timestamp: Any) -> int:
    """Gerrit's UTC `2026-11-23 09:05:35.000000000` as whole seconds since the epoch."""
    if not isinstance(timestamp, str):
        return 0
    moment = datetime.strptime(timestamp[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp())
