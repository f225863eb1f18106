"""ChangeBodies: change pages kept per version, within a bound in bytes."""

from __future__ import annotations

from crosscheck.results.reads import ChangeVersion
from crosscheck.web.change_bodies import ChangeBodies, ChangeBody


def test_kept_bodies_stay_within_their_bytes() -> None:
    version = ChangeVersion(1, 1)
    bodies = ChangeBodies(max_bytes=10)

    def body(size: int) -> ChangeBody:
        return ChangeBody(version, b"x" * size, "tag")

    bodies.keep(1, body(4))
    bodies.keep(2, body(4))
    assert bodies.get(1, version) is not None  # read: now the most recent
    bodies.keep(3, body(4))  # 12 bytes: the least recently read (2) goes
    assert bodies.get(2, version) is None
    assert bodies.get(1, version) is not None
    assert bodies.get(3, version) is not None
    assert bodies.get(1, ChangeVersion(2, 9)) is None  # another version of it
    bodies.keep(4, body(11))  # larger than the whole: not kept, nothing pushed out
    assert bodies.get(4, version) is None
    assert bodies.get(3, version) is not None
