"""ChangeBodies: change pages kept per version, within a bound in bytes."""

from __future__ import annotations

import gzip

from crosscheck.results.reads import ChangeVersion
from crosscheck.web.change_bodies import ChangeBodies, ChangeBody, gzip_etag, takes_gzip


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


def test_a_gzipped_body_is_made_once_and_counted_in_the_bound() -> None:
    version = ChangeVersion(1, 1)
    bodies = ChangeBodies(max_bytes=200)
    made = ChangeBody(version, b"0123456789" * 10, '"1.1.s"')
    bodies.keep(1, made)
    packed = bodies.gzipped(1, made)
    assert gzip.decompress(packed) == made.body
    assert bodies.gzipped(1, made) is packed  # kept: not compressed again
    assert made.size == 100 + len(packed)
    other = ChangeBody(version, b"y" * 100, '"1.1.t"')
    bodies.keep(2, other)  # 100 + the gzipped copy + 100 > 200: change 1 goes
    assert bodies.get(1, version) is None
    assert bodies.get(2, version) is other


def test_what_takes_gzip() -> None:
    taking = ["gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8", "*", "x-gzip", "GZIP"]
    refusing = [None, "", "identity", "br", "gzip;q=0", "gzip; q=0.000", "*;q=0", "gzipped"]
    assert [takes_gzip(h) for h in taking] == [True] * len(taking)
    assert [takes_gzip(h) for h in refusing] == [False] * len(refusing)
    assert gzip_etag('"3.9.ab"') == '"3.9.ab-gzip"'
