"""Publishing promotions: tags, manifests and webhooks, each kept until it went out.

A promotion to a level with a `publish` rule writes a publication in its own
transaction (the engine's); this task publishes it once the promotion is committed:

- `tag`: the annotated tag `<scenario>/<level>/<YYYY.MM.DD-HHMMSS>` (the promotion's
  time, UTC) in every component on Gerrit at its version (a tag already at its
  commit is kept, so a retry after a partial failure finishes the job);
- `manifest`: `<dir>/<scenario>/<level>/<promotion id>.{yaml,json}`, and
  `<dir>/<scenario>/<level>.{yaml,json}` while the level still holds that candidate
  (DLRN's `current-tripleo` link, as files);
- `webhook`: a POST of the manifest as JSON; any 2xx answer is delivery. With a
  secret named, the body is signed: `X-Crosscheck-Signature: sha256=<HMAC-SHA256 of
  the body>`.

An operator's demotion or rollback of such a level (`crosscheck promotion demote`,
another process) writes a publication too: the level's current manifest follows it
(removed when the level was cleared) and the webhook is told; it tags nothing.

A failure (Gerrit or the webhook away, a disk full) puts the publication off with a
growing delay (30 s doubling, at most an hour) and says so at WARNING. The task sleeps
until the next one is due (with none pending, without a timer), or until woken: by
the engine once a promotion committed, or by the doorbell, a file in the manifests'
directory that `crosscheck promotion demote | rollback` (another process) touches
after writing its publication (inotify; polled every minute where that is missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import httpx
import yaml
from asyncinotify import Inotify, Mask
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.secrets import SecretError, read_secret
from crosscheck.drivers.base import DriverError, Tagger
from crosscheck.model.promotion import PromotionKind, PromotionRecord, PublishRule
from crosscheck.model.release import ComponentPin, pins_of
from crosscheck.model.scenario import Scenario
from crosscheck.paths import state_dir
from crosscheck.store import promotion as store
from crosscheck.store import publications

log = logging.getLogger(__name__)

FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=1)
#: Seconds before a pass that failed (the store away) is tried again; also how often
#: the doorbell is looked at where inotify is missing.
RETRY = 60.0
#: The file another process touches, in the manifests' directory, to wake the task.
DOORBELL = ".publish"
DOORBELL_MASK = Mask.CREATE | Mask.CLOSE_WRITE | Mask.ATTRIB | Mask.MOVED_TO

#: (url, body, headers): the body is sent as it is, since it may be signed.
Post = Callable[[str, bytes, dict[str, str]], Awaitable[None]]
SIGNATURE_HEADER = "X-Crosscheck-Signature"


class PublishError(Exception):
    """One publication could not go out now; the message says what and where."""


async def post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    where = shown_url(url)
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
    except httpx.HTTPError as error:
        # httpx's message may name the URL, token and all: say only where it went.
        raise PublishError(f"webhook {where} did not answer ({type(error).__name__})") from None
    if not answer.is_success:
        raise PublishError(f"webhook {where} answered {answer.status_code}")


def manifests_dir() -> Path:
    """Where serve writes manifests, and where its doorbell is."""
    return state_dir() / "promotions"


def ring(manifests: Path) -> None:
    """Tell a serve on this state directory that a publication is waiting."""
    try:
        manifests.mkdir(parents=True, exist_ok=True)
        # Written, not followed: a link planted there never makes the operator touch
        # another file.
        os.close(os.open(manifests / DOORBELL, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    except OSError as error:  # the publication is in the store: serve's next pass has it
        log.warning("cannot wake serve's publisher (%s): it publishes at its next pass", error)


def shown_url(url: str) -> str:
    """A webhook's scheme and host only: its path or query may hold a token."""
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.host}" + (f":{parts.port}" if parts.port else "")


class Publisher:
    def __init__(
        self,
        engine: AsyncEngine,
        scenarios: Callable[[], Mapping[str, Scenario]],
        taggers: Mapping[str, Tagger],
        manifests: Path,
        *,
        post: Post = post_json,
    ) -> None:
        self.engine = engine
        self.scenarios = scenarios
        self.taggers = taggers
        self.manifests = manifests
        self.post = post
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        doorbell = asyncio.create_task(self._answer_doorbell())
        try:
            while True:
                self._wake.clear()
                try:
                    await self.publish_due()
                    wait = await self.until_next()
                except Exception:
                    log.exception("publishing: a pass failed; trying again in a minute")
                    wait = RETRY
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            doorbell.cancel()

    async def until_next(self) -> float | None:
        """Seconds until the next pending publication is due; None: none is pending."""
        async with self.engine.connect() as db:
            due = await publications.next_due(db)
        if due is None:
            return None
        return max((due - datetime.now(UTC)).total_seconds(), 0.0)

    async def _answer_doorbell(self) -> None:
        """Wake the task whenever another process rings (`ring`), until cancelled."""
        try:
            inotify = Inotify()
        except OSError as error:  # not Linux, or the instances' limit reached
            await self._look_every_minute(error)
        with inotify:
            while True:
                try:
                    self.manifests.mkdir(parents=True, exist_ok=True)
                    inotify.add_watch(self.manifests, DOORBELL_MASK)
                except OSError as error:  # a read-only disk, say
                    await self._look_every_minute(error)
                async for event in inotify:
                    if event.mask & Mask.IGNORED:
                        # The directory was removed (its watch with it): a ring may be
                        # lost; a pass finds what waits, and the new directory is watched.
                        self.wake()
                        break
                    if event.name is None or event.name.name == DOORBELL:  # None: overflowed
                        self.wake()

    async def _look_every_minute(self, error: OSError) -> NoReturn:
        log.warning("publishing: no doorbell (%s); looking every minute instead", error)
        while True:
            await asyncio.sleep(RETRY)
            self.wake()

    async def publish_due(self, now: datetime | None = None) -> int:
        """Publish every publication due at `now` (default: now); how many went out."""
        async with self.engine.connect() as db:
            found = await publications.due(db, now or datetime.now(UTC))
        sent = 0
        for publication in found:
            record = publication.promotion
            try:
                await self._publish(record)
            except (PublishError, DriverError, OSError, httpx.HTTPError) as error:
                delay = min(FIRST_DELAY * 2**publication.attempts, LONGEST_DELAY)
                log.warning(
                    "publishing %s %s -> %s failed (%s); trying again in %ds",
                    record.scenario,
                    record.level,
                    (record.candidate or "nothing")[:12],
                    error,
                    delay.total_seconds(),
                )
                async with self.engine.begin() as db:
                    await publications.put_off(db, record.id, datetime.now(UTC) + delay, str(error))
                continue
            async with self.engine.begin() as db:
                await publications.published(db, record.id, datetime.now(UTC))
            sent += 1
        return sent

    async def _publish(self, record: PromotionRecord) -> None:
        scenario = self.scenarios().get(record.scenario)
        rule = _rule(scenario, record.level)
        if scenario is None or rule is None:
            log.info(
                "publishing %s %s: the level publishes nothing any more", record.scenario,
                record.level,
            )  # fmt: skip
            return
        async with self.engine.connect() as db:
            candidate = await store.candidate(db, record.candidate) if record.candidate else None
            held = await store.pointer(db, record.scenario, record.level)
        if record.candidate is not None and candidate is None:
            raise PublishError(f"candidate {record.candidate} is not recorded")
        # Only the rules' promotions tag: an operator's move back names no new version.
        tagging = rule.tag and record.kind is PromotionKind.PROMOTE
        tag = f"{record.scenario}/{record.level}/{record.at.astimezone(UTC):%Y.%m.%d-%H%M%S}"
        pins = pins_of(scenario, candidate, tag if tagging else None) if candidate else []
        manifest = _manifest(record, [pin.as_data() for pin in pins])
        if tagging:
            await self._tag(record, pins, tag)
        if rule.manifest:
            current = (held.candidate if held else None) == record.candidate
            await asyncio.to_thread(self._write, record, manifest, current)
        if rule.webhook:
            body = json.dumps(manifest, sort_keys=True).encode()
            await self.post(rule.webhook, body, _signed(rule, record, body))
        log.info(
            "published %s %s %s -> %s (%s)",
            record.kind.value,
            record.scenario,
            record.level,
            (record.candidate or "nothing")[:12],
            ", ".join(k for k, v in (("tag", tagging), ("manifest", rule.manifest),
                                     ("webhook", rule.webhook)) if v),
        )  # fmt: skip

    async def _tag(self, record: PromotionRecord, pins: list[ComponentPin], tag: str) -> None:
        message = (
            f"crosscheck promotion of {record.scenario} to {record.level}: "
            f"candidate {record.candidate}"
        )
        for pin in pins:
            if pin.tag is None or pin.connection is None or pin.project is None:
                continue
            tagger = self.taggers.get(pin.connection)
            if tagger is None:
                raise PublishError(f"connection {pin.connection!r} is not configured")
            await tagger.create_tag(pin.project, tag, pin.sha, message)

    def _write(self, record: PromotionRecord, manifest: dict[str, Any], current: bool) -> None:
        """This move's manifest; the level's current one while the level holds what this
        move left it holding (removed when an operator cleared the level)."""
        level_dir = self.manifests / record.scenario / record.level
        level_dir.mkdir(parents=True, exist_ok=True)
        targets = [level_dir / str(record.id)]
        now = self.manifests / record.scenario / record.level
        if current and record.candidate is None:
            for suffix in (".yaml", ".json"):
                now.with_name(now.name + suffix).unlink(missing_ok=True)
        elif current:
            targets.append(now)
        for target in targets:
            for suffix, text in (
                (".yaml", yaml.safe_dump(manifest, sort_keys=False)),
                (".json", json.dumps(manifest, indent=2) + "\n"),
            ):
                path = target.with_name(target.name + suffix)
                partial = path.with_name(path.name + ".partial")
                partial.write_text(text)
                partial.replace(path)  # a reader never sees half a manifest


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC of the body>`, as GitHub and Gerrit's webhooks sign theirs: the
    receiver computes the same with its copy of the secret, in constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(rule: PublishRule, record: PromotionRecord, body: bytes) -> dict[str, str]:
    try:
        secret = read_secret(
            f"the webhook secret of {record.scenario} {record.level}",
            rule.webhook_secret_env,
            rule.webhook_secret_file,
        )
    except SecretError as error:
        raise PublishError(str(error)) from error
    return {SIGNATURE_HEADER: signature(secret, body)} if secret else {}


def _rule(scenario: Scenario | None, level: str) -> PublishRule | None:
    if scenario is None or level not in {lv.name for lv in scenario.levels}:
        return None
    return scenario.level(level).publish


def _manifest(record: PromotionRecord, components: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "scenario": record.scenario,
        "level": record.level,
        # promote; or demote (an operator moved the level, maybe to nothing), rollback.
        "kind": record.kind.value,
        "reason": record.reason,
        "candidate": record.candidate,
        "promoted_at": record.at.isoformat(),
        "promoted_by": record.by,
        "evidence": {name: list(ids) for name, ids in record.evidence.items()},
        "components": components,
    }
