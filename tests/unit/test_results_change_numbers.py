"""Change ids and revisions Gerrit cannot have are no change at all, never a crash."""

from __future__ import annotations

import pytest

from crosscheck.results.resolver import is_patchset_number, split_change_id


@pytest.mark.parametrize(
    ("change_id", "expected"),
    [
        ("123", (None, 123)),
        ("openstack%2Fnova~123", ("openstack%2Fnova", 123)),
        ("2147483647", (None, 2**31 - 1)),
        ("2147483648", (None, None)),
        ("9" * 5000, (None, None)),  # int() refuses this many digits
        ("p~" + "9" * 30, (None, None)),
        ("²", (None, None)),  # a digit to str.isdigit(), not to int()
        ("p~²", (None, None)),
        ("0", (None, None)),
    ],
)
def test_change_ids(change_id: str, expected: tuple[str | None, int | None]) -> None:
    assert split_change_id(change_id) == expected


@pytest.mark.parametrize(("revision", "expected"), [("3", True), ("²", False), ("\u0661", False)])
def test_patchset_numbers_are_ascii_digits(revision: str, expected: bool) -> None:
    assert is_patchset_number(revision) is expected
