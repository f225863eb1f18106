"""KeptBodies: answers kept per version, within a bound in bytes, gzipped once."""

from __future__ import annotations

import gzip
import os

from crosscheck.http.kept_bodies import KeptBodies, KeptBody, gzip_etag, takes_gzip
from crosscheck.results.reads import ChangeVersion


def test_kept_bodies_stay_within_their_bytes() -> None:
    version = ChangeVersion(1, 1)
    bodies = KeptBodies(max_bytes=10)

    def body(size: int) -> KeptBody:
        return KeptBody(version, b"x" * size, "tag")

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
    bodies = KeptBodies(max_bytes=200)
    made = KeptBody(version, b"0123456789" * 10, '"1.1.s"')
    bodies.keep(1, made)
    packed = bodies.gzipped(1, made)
    assert gzip.decompress(packed) == made.body
    assert bodies.gzipped(1, made) is packed  # kept: not compressed again
    assert made.size == 100 + len(packed)
    other = KeptBody(version, b"y" * 100, '"1.1.t"')
    bodies.keep(2, other)  # 100 + the gzipped copy + 100 > 200: change 1 goes
    assert bodies.get(1, version) is None
    assert bodies.get(2, version) is other


def test_what_takes_gzip() -> None:
    taking = [
        "gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8", "*", "x-gzip", "GZIP",
        "*;q=0, gzip",  # gzip's own entry decides
    ]  # fmt: skip
    refusing = [
        None, "", "identity", "br", "gzip;q=0", "gzip; q=0.000", "*;q=0", "gzipped",
        "*;q=1, gzip;q=0",
    ]  # fmt: skip
    assert [takes_gzip(h) for h in taking] == [True] * len(taking)
    assert [takes_gzip(h) for h in refusing] == [False] * len(refusing)
    assert gzip_etag('"3.9.ab"') == '"3.9.ab-gzip"'


def test_a_gzipped_copy_that_would_push_its_own_body_out_is_not_kept() -> None:
    """A body near the bound: its compressed copy is made for each such read rather than
    kept, and the plain body and the other changes stay."""
    version = ChangeVersion(1, 1)
    bodies = KeptBodies(max_bytes=300)
    small = KeptBody(version, b"s" * 20, '"s"')
    big = KeptBody(version, os.urandom(250), '"b"')  # random: gzip makes it larger
    bodies.keep(1, small)
    bodies.keep(2, big)
    packed = bodies.gzipped(2, big)
    assert gzip.decompress(packed) == big.body
    assert big.gzipped is None
    assert bodies.get(2, version) is big
    assert bodies.get(1, version) is small
    assert bodies.held == 270
