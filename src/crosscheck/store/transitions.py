"""Moves of items and builds, published in-process once their transaction committed.

The store records each move on the connection that makes it (`record`); a hub
attached to the engine (`Transitions.attach`) hands the moves to its subscribers
once that transaction committed, in the order they were made, and never those of a
transaction rolled back. So a subscriber (live status, promotion, the Checks tab)
that reacts to a move and reads the store finds the move there.

Why not deliver from SQLAlchemy's `commit` event itself: it fires *before* the
driver's COMMIT, which can still fail (a deferred constraint, a lost connection, a
task cancelled mid-commit). So `commit` only sets the connection's moves aside;
they are delivered when the connection begins its next transaction (`begin`) or goes
back to the pool (`checkin`), both after the COMMIT returned, and dropped by a
`handle_error` in between, which then can only be the COMMIT's. `rollback` drops the
moves not committed, `rollback_savepoint` those made since the savepoint. A COMMIT
whose outcome is unknown (the connection lost during it) publishes nothing:
subscribers take a move as a cue to look, the store stays the truth.

The moves wait in `Connection.info`, which belongs to the DBAPI connection and so
outlives one checkout: nothing is recorded on an engine no subscriber listens to
(a move made before the first subscribe is not published).

Only this process's moves are published: several processes sharing one PostgreSQL
each hear their own. Subscribers are plain callables, called inside SQLAlchemy's
event where nothing can be awaited: they must be quick (put the move on an asyncio
queue, set an event). One that raises is logged; the others still receive the move.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.states import Transition

log = logging.getLogger(__name__)

Subscriber = Callable[[Transition], None]

#: Where the moves wait in `Connection.info`: made, committing, and how many were made
#: before each savepoint still open.
_PENDING = "crosscheck.transitions.pending"
_COMMITTING = "crosscheck.transitions.committing"
_MARKS = "crosscheck.transitions.savepoints"


class Transitions:
    """A publish/subscribe hub of the moves committed on the engines it is attached to."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every move from now on; returns its unsubscribe."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def attach(self, engine: AsyncEngine | Engine) -> None:
        """Publish the moves committed on `engine`; attaching twice changes nothing."""
        sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
        hubs = _hubs.get(sync)
        if hubs is None:
            hubs = _hubs[sync] = []
            _listen(sync, hubs)
        if self not in hubs:
            hubs.append(self)

    @property
    def listened(self) -> bool:
        return bool(self._subscribers)

    def publish(self, transition: Transition) -> None:
        """Hand one move to every subscriber, in the order they subscribed."""
        for subscriber in list(self._subscribers):
            try:
                subscriber(transition)
            except Exception:
                log.exception("a subscriber to moves failed on %s", transition)


#: The hubs attached to each engine (the engine's listeners hold the same list).
_hubs: weakref.WeakKeyDictionary[Engine, list[Transitions]] = weakref.WeakKeyDictionary()


def recording(db: AsyncConnection) -> bool:
    """Whether moves made through `db` are published: a hub with a subscriber listens
    to its engine. Without one, the store skips what only a subscriber would read."""
    return any(hub.listened for hub in _hubs.get(db.sync_engine, ()))


def record(db: AsyncConnection, *transitions: Transition) -> None:
    """Keep moves made in `db`'s transaction, to publish once it committed."""
    if transitions and recording(db):
        db.info.setdefault(_PENDING, []).extend(transitions)


def _listen(engine: Engine, hubs: list[Transitions]) -> None:
    def deliver(info: dict[Any, Any]) -> None:
        for transition in info.pop(_COMMITTING, ()):
            for hub in list(hubs):
                hub.publish(transition)

    event.listen(engine, "commit", _set_aside)
    event.listen(engine, "rollback", _drop_pending)
    event.listen(engine, "savepoint", _mark)
    event.listen(engine, "release_savepoint", _release_mark)
    event.listen(engine, "rollback_savepoint", _back_to_mark)
    event.listen(engine, "handle_error", _drop_committing)
    event.listen(engine, "begin", lambda connection: deliver(_info(connection)))
    event.listen(engine, "checkin", lambda _, pooled: deliver(pooled.info))


def _info(connection: Connection) -> dict[Any, Any]:
    """The connection's moves, or a scratch dict once the connection is invalidated.

    A task cancelled inside a statement invalidates its connection, and reading
    `info` then raises: raised from inside SQLAlchemy's rollback, that would leave the
    connection half rolled back and fail every later use of it. An invalidated
    connection's DBAPI connection is thrown away, its moves with it: none committed.
    """
    if connection.invalidated:
        return {}
    return connection.info


def _set_aside(connection: Connection) -> None:
    info = _info(connection)
    moves = info.pop(_PENDING, [])
    info.pop(_MARKS, None)
    if moves:
        info.setdefault(_COMMITTING, []).extend(moves)


def _drop_pending(connection: Connection) -> None:
    info = _info(connection)
    info.pop(_PENDING, None)
    info.pop(_MARKS, None)


def _mark(connection: Connection, name: str | None) -> None:
    # A stack: savepoints nest (and this event gets no name when SQLAlchemy makes one).
    info = _info(connection)
    marks = info.setdefault(_MARKS, [])
    marks.append(len(info.get(_PENDING, ())))


def _release_mark(connection: Connection, name: str, context: Any) -> None:
    marks = _info(connection).get(_MARKS)
    if marks:
        marks.pop()


def _back_to_mark(connection: Connection, name: str, context: Any) -> None:
    info = _info(connection)
    marks = info.get(_MARKS)
    if not marks:
        return
    mark = marks.pop()
    pending = info.get(_PENDING)
    if pending is not None:
        del pending[mark:]


def _drop_committing(context: ExceptionContext) -> None:
    # Between a COMMIT's start and the next transaction, only the COMMIT can fail.
    if context.connection is not None:
        _info(context.connection).pop(_COMMITTING, None)
