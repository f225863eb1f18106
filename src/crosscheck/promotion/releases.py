"""Cutting a release: the newest candidate that qualifies for a channel, tagged and kept.

A candidate qualifies for a channel once the rules promoted it to the channel's
level; the newest one is the candidate that level holds now. A release named for a
candidate that never reached the level, or asked of a level that holds none, is
refused with the promotion's explanation (what the level still waits for).

Every component on Gerrit is tagged before the release is recorded: a release that
failed half way leaves tags at the right commits and no record, and asking again
with the same name finishes it (a tag already at its commit is kept).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.base import DriverError, Tagger
from crosscheck.errors import CrosscheckError
from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.promotion import PromotionKind
from crosscheck.model.release import Release, default_name, name_problem, pins_of, tag_name
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.explain import ExplainError, Explanation, explain, find_candidate
from crosscheck.store import promotion as store
from crosscheck.store import releases as release_store

log = logging.getLogger(__name__)


class ReleaseRefusedError(CrosscheckError):
    """No release was cut; the message says why. `explanation` is the level's, when a
    candidate did not qualify."""

    def __init__(self, message: str, explanation: Explanation | None = None) -> None:
        super().__init__(message)
        self.explanation = explanation


@dataclass(frozen=True)
class ReleaseRequest:
    scenario: Scenario
    channel: str
    by: str
    name: str | None = None
    #: A candidate id or prefix; None: the newest that qualifies.
    candidate: str | None = None


async def create_release(
    engine: AsyncEngine, request: ReleaseRequest, taggers: Mapping[str, Tagger]
) -> Release:
    scenario = request.scenario
    channel = _channel_level(scenario, request.channel)
    now = datetime.now(UTC)
    async with engine.connect() as db:
        record = await _qualified(db, scenario, channel, request.candidate, now)
        name = request.name or default_name(
            now, await release_store.release_names(db, scenario.name)
        )
        if await release_store.release_named(db, scenario.name, name) is not None:
            raise ReleaseRefusedError(f"{scenario.name} has a release {name} already")
    problem = name_problem(name)
    if problem is not None:
        raise ReleaseRefusedError(problem)
    tag = tag_name(scenario.name, request.channel, name)
    release = Release(
        scenario=scenario.name,
        channel=request.channel,
        name=name,
        level=channel,
        candidate=record.id,
        created_at=now,
        by=request.by,
        components=tuple(pins_of(scenario, record, tag)),
    )
    await _tag(release, taggers, tag)
    async with engine.begin() as db:
        if not await release_store.record_release(db, release):
            raise ReleaseRefusedError(f"{scenario.name} has a release {name} already")
    log.info(
        "release: %s %s %s from candidate %s", scenario.name, request.channel, name, record.id[:12]
    )
    return release


def _channel_level(scenario: Scenario, channel: str) -> str:
    for found in scenario.channels:
        if found.name == channel:
            return found.level
    names = ", ".join(c.name for c in scenario.channels) or "none is configured"
    raise ReleaseRefusedError(f"{scenario.name} has no release channel {channel!r} ({names})")


async def _qualified(
    db: AsyncConnection,
    scenario: Scenario,
    level: str,
    given: str | None,
    now: datetime,
) -> CandidateRecord:
    try:
        if given is not None:
            record = await find_candidate(db, scenario.name, given)
            if level in await store.promoted_levels(db, record.id):
                await _not_demoted(db, scenario.name, level, record.id)
                return record
            why = await explain(db, scenario, level, record.id, now)
            raise ReleaseRefusedError(
                f"candidate {record.id[:12]} never reached {level}, so it does not qualify", why
            )
        held = await store.pointer(db, scenario.name, level)
        if held is not None:
            found = await store.candidate(db, held.candidate)
            if found is not None:
                return found
        why = await explain(db, scenario, level, None, now)
    except ExplainError as error:
        raise ReleaseRefusedError(str(error)) from error
    raise ReleaseRefusedError(f"{scenario.name} {level} holds no candidate: nothing qualifies", why)


async def _not_demoted(db: AsyncConnection, scenario: str, level: str, candidate: str) -> None:
    """Refuse a candidate an operator moved the level away from, and never back to."""
    for move in await store.history(db, scenario, level, limit=1000):  # newest first
        if move.candidate == candidate:
            return
        if move.previous == candidate and move.kind is not PromotionKind.PROMOTE:
            raise ReleaseRefusedError(
                f"candidate {candidate[:12]} was moved off {level} by {move.by} at "
                f"{move.at:%Y-%m-%d %H:%M} UTC ({move.kind.value}: {move.reason}), so it does "
                "not qualify"
            )


async def _tag(release: Release, taggers: Mapping[str, Tagger], tag: str) -> None:
    message = (
        f"crosscheck release {release.name} of {release.scenario} "
        f"({release.channel}, from {release.level}): candidate {release.candidate}"
    )
    for pin in release.components:
        if pin.tag is None or pin.connection is None or pin.project is None:
            continue
        tagger = taggers.get(pin.connection)
        if tagger is None:
            raise ReleaseRefusedError(
                f"component {pin.component} is on connection {pin.connection!r}, which is "
                "not configured: nothing was tagged on it"
            )
        try:
            await tagger.create_tag(pin.project, tag, pin.sha, message)
        except DriverError as error:
            raise ReleaseRefusedError(
                f"tagging {pin.project} failed: {error} (tags made before it stay; "
                "the same command again finishes the release)"
            ) from error
