"""Webhook events, the intake's exactly-once rule, catch-up parsing, secrets."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.config.secrets import SecretError, read_secret
from crosscheck.drivers.gerrit.catchup import change_events, votes_in
from crosscheck.drivers.gerrit.events import parse_line, parse_timestamp
from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Approval, Event, Origin
from tests.fixtures.gerrit_events import recorded_line

from .helpers import TOKEN, Sink, source_for, webhook_client

LINE = recorded_line("patchset-created")


@pytest.fixture
async def webhook(engine: AsyncEngine) -> AsyncIterator[tuple[httpx.AsyncClient, Sink]]:
    sink = Sink()
    async with webhook_client(source_for(engine, sink)) as client:
        yield client, sink


async def test_a_webhook_event_is_processed_once(webhook: tuple[httpx.AsyncClient, Sink]) -> None:
    client, sink = webhook
    first = await client.post(f"/webhooks/gerrit/review/{TOKEN}", content=LINE)
    again = await client.post(f"/webhooks/gerrit/review/{TOKEN}", content=LINE)
    assert (first.status_code, first.json()) == (202, {"accepted": True, "duplicate": False})
    assert again.json() == {"accepted": True, "duplicate": True}
    assert len(sink.events) == 1
    assert sink.events[0].origin == "webhook"


async def test_a_project_object_is_accepted(webhook: tuple[httpx.AsyncClient, Sink]) -> None:
    client, sink = webhook
    data = json.loads(LINE) | {"project": {"name": "sandbox/ci-sandbox"}}
    response = await client.post(f"/webhooks/gerrit/review/{TOKEN}", json=data)
    assert response.status_code == 202
    assert sink.events[0].project == "sandbox/ci-sandbox"


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("/webhooks/gerrit/review/wrong", LINE, 401, "wrong webhook token for this connection"),
        (f"/webhooks/gerrit/other/{TOKEN}", LINE, 404, "no connection 'other' takes webhooks"),
        (f"/webhooks/gerrit/review/{TOKEN}", "not json", 400, "not a Gerrit event"),
        (f"/webhooks/gerrit/review/{TOKEN}", "[1]", 400, "not a Gerrit event"),
        (
            f"/webhooks/gerrit/review/{TOKEN}",
            '{"type": "patchset-created", "project": "acme/driver"}',
            400,
            "a patchset-created event without its change",
        ),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_stored(
    webhook: tuple[httpx.AsyncClient, Sink], path: str, body: str, status: int, detail: str
) -> None:
    client, sink = webhook
    response = await client.post(path, content=body)
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert sink.events == []


async def test_copies_a_second_apart_are_one_event_and_the_cursor_advances(
    engine: AsyncEngine,
) -> None:
    sink = Sink()
    intake = EventIntake(engine, sink)
    comment = recorded_line("comment-added")
    stream = parse_line(comment, "review")
    late_copy = dataclasses.replace(stream, created_on=stream.created_on + 1, origin=Origin.CATCHUP)
    assert await intake.submit(stream)
    assert not await intake.submit(late_copy)
    assert await intake.cursor("review") == stream.created_on
    later = dataclasses.replace(stream, created_on=stream.created_on + 3600)
    assert await intake.submit(later)  # the same comment an hour later is a new event
    assert await intake.cursor("review") == later.created_on
    created = parse_line(LINE, "review")
    assert await intake.submit(created)
    # A patchset is created once: a copy with a very different time is still the same event.
    rest_copy = dataclasses.replace(
        created, created_on=created.created_on + 30, origin=Origin.CATCHUP
    )
    assert not await intake.submit(rest_copy)
    assert (intake.accepted, intake.duplicates) == (3, 2)


async def test_a_failing_sink_records_nothing(engine: AsyncEngine) -> None:
    async def broken(event: Event, _: AsyncConnection) -> None:
        raise RuntimeError("scheduler down")

    event = parse_line(LINE, "review")
    with pytest.raises(RuntimeError):
        await EventIntake(engine, broken).submit(event)
    sink = Sink()
    assert await EventIntake(engine, sink).submit(event)  # it comes again, and is processed
    assert await EventIntake(engine, sink).cursor("review") == event.created_on


def test_votes_are_read_from_a_change_message() -> None:
    assert votes_in("Patch Set 2: Code-Review+2 Verified-1\n\nLooks good") == (
        Approval("Code-Review", 2),
        Approval("Verified", -1),
    )
    assert votes_in("Patch Set 2:\n\nrecheck") == ()


def test_gerrit_timestamps_are_utc() -> None:
    assert parse_timestamp("2026-11-23 09:05:35.000000000") == 1795424735
    assert parse_timestamp(None) == 0


def test_secrets_come_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_TOKEN", "t0k")
    assert read_secret("webhook", "CI_TOKEN", None) == "t0k"
    (tmp_path / "pw").write_text("hunter2\n")
    assert read_secret("password", None, tmp_path / "pw") == "hunter2"
    assert read_secret("password", None, None) is None
    with pytest.raises(SecretError, match="MISSING is not set"):
        read_secret("password", "MISSING", None)
    with pytest.raises(SecretError, match="cannot read"):
        read_secret("password", None, tmp_path / "absent")


async def test_a_malformed_line_is_logged_with_its_text_and_skipped(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sink = Sink()
    source = source_for(engine, sink)
    await source._on_line('{"type": "patchset-created", "change": {broken')
    await source._on_line('{"type": "vote-deleted", "eventCreatedOn": 1, "project": "p"}')
    await source._on_line(LINE)
    assert "skipped a malformed line" in caplog.text
    assert "{broken" in caplog.text
    assert "event of unknown type 'vote-deleted'" in caplog.text
    assert [e.type for e in sink.events] == ["vote-deleted", "patchset-created"]


@pytest.mark.parametrize(
    "error", [RuntimeError("database down"), ValueError("a bug below the intake")]
)
async def test_a_webhook_that_cannot_be_processed_gets_503(
    engine: AsyncEngine, error: Exception
) -> None:
    # Only a body that is not an event is the sender's fault (400, never sent again);
    # any failure to process one, a ValueError included, must let the plugin retry.
    async with webhook_client(source_for(engine, Sink(failures=1, error=error))) as client:
        response = await client.post(f"/webhooks/gerrit/review/{TOKEN}", content=LINE)
    assert response.status_code == 503


def test_gerrit_own_messages_are_not_comments() -> None:
    change = {
        "project": "p",
        "_number": 1,
        "branch": "master",
        "revisions": {
            "a" * 40: {
                "_number": 1,
                "created": "2026-11-23 09:00:00.000000000",
                "uploader": {"username": "dev"},
            }
        },
        "messages": [
            {
                "_revision_number": 1,
                "author": {"username": "dev"},
                "tag": "autogenerated:gerrit:newPatchSet",
                "message": "Uploaded patch set 1.",
                "date": "2026-11-23 09:00:00.000000000",
            },
            {
                "_revision_number": 1,
                "author": {"username": "dev"},
                "message": "Patch Set 1:\n\nrecheck",
                "date": "2026-11-23 09:01:00.000000000",
            },
        ],
    }
    events = change_events(change, "review")
    assert [e.type for e in events] == ["patchset-created", "comment-added"]
    assert events[1].comment == "Patch Set 1:\n\nrecheck"


def test_caught_up_events_carry_each_patchsets_commit_message() -> None:
    """As the stream's do: their Depends-On footers must not be lost to a restart."""

    def revision(number: int, message: str) -> dict[str, object]:
        return {
            "_number": number,
            "created": f"2026-11-23 09:0{number}:00.000000000",
            "uploader": {"username": "dev"},
            "commit": {"message": message},
        }

    first, second = "Fix\n\nDepends-On: https://a/c/1\n", "Fix\n\nDepends-On: https://a/c/2\n"
    change = {
        "project": "p",
        "_number": 1,
        "branch": "master",
        "revisions": {"a" * 40: revision(1, first), "b" * 40: revision(2, second)},
        "messages": [
            {
                "_revision_number": 1,
                "author": {"username": "dev"},
                "message": "Patch Set 1:\n\nrecheck",
                "date": "2026-11-23 09:05:00.000000000",
            },
        ],
    }
    events = change_events(change, "review")
    by_type = {(e.type, e.patchset.number if e.patchset else 0): e for e in events}
    assert by_type[("patchset-created", 1)].change.commit_message == first  # type: ignore[union-attr]
    assert by_type[("patchset-created", 2)].change.commit_message == second  # type: ignore[union-attr]
    assert by_type[("comment-added", 1)].change.commit_message == first  # type: ignore[union-attr]
