"""An event as the store keeps it: JSON, so an item rebuilds its build requests after a
restart, and the status shows what enqueued it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from crosscheck.model.events import (
    Account,
    Approval,
    CandidateComponent,
    CandidateItem,
    Change,
    Event,
    Origin,
    PatchSet,
    RefUpdate,
    TimerTick,
)


def dump_event(event: Event) -> str:
    return json.dumps(dataclasses.asdict(event), sort_keys=True)


def load_event(text: str) -> Event:
    data: dict[str, Any] = json.loads(text)
    change = data.get("change")
    patchset = data.get("patchset")
    return Event(
        type=data["type"],
        connection=data["connection"],
        created_on=data["created_on"],
        project=data.get("project"),
        change=_change(change) if change else None,
        patchset=_patchset(patchset) if patchset else None,
        account=_account(data.get("account")),
        comment=data.get("comment"),
        approvals=tuple(Approval(**a) for a in data.get("approvals", ())),
        ref_update=RefUpdate(**data["ref_update"]) if data.get("ref_update") else None,
        reviewer=_account(data.get("reviewer")),
        extra=data.get("extra", {}),
        origin=Origin(data.get("origin", Origin.STREAM.value)),
        timer=TimerTick(**data["timer"]) if data.get("timer") else None,
        candidate=_candidate(data["candidate"]) if data.get("candidate") else None,
        # Stored before it was kept: 0, so a build fetches what it needs afresh.
        received_at=float(data.get("received_at", 0.0)),
    )


def _candidate(data: dict[str, Any]) -> CandidateItem:
    components = tuple(CandidateComponent(**c) for c in data["components"])
    return CandidateItem(data["id"], data["scenario"], data["level"], components)


def _account(data: dict[str, Any] | None) -> Account | None:
    return Account(**data) if data else None


def _change(data: dict[str, Any]) -> Change:
    fields = {**data, "owner": _account(data.get("owner"))}
    fields["hashtags"] = tuple(data.get("hashtags", ()))
    return Change(**fields)


def _patchset(data: dict[str, Any]) -> PatchSet:
    fields = {**data, "uploader": _account(data.get("uploader"))}
    fields["author"] = _account(data.get("author"))
    fields["parents"] = tuple(data.get("parents", ()))
    return PatchSet(**fields)
