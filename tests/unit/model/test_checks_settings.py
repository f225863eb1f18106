"""The Checks tab's settings: Gerrit origins for CORS and each CI's rerun comment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crosscheck.config.pages import PagesSettingsError, load_pages_settings
from crosscheck.model.checks import origin_problem, parse_origins, parse_rerun_comments


def test_origins_default_to_gerrit_urls_own() -> None:
    assert parse_origins(None, "https://Review.Example.org/r/") == ("https://review.example.org",)
    assert parse_origins(None, None) == ()


def test_origins_are_normalised_and_deduplicated() -> None:
    given = ["https://review.example.org", "HTTPS://REVIEW.example.org/", "http://gerrit:8080"]
    assert parse_origins(given, None) == ("https://review.example.org", "http://gerrit:8080")


def test_origins_are_written_as_browsers_send_them() -> None:
    """A default port or an international name would otherwise never match `Origin`."""
    given = ["https://review.example.org:443", "http://gerrit:80", "https://bücher.example"]
    assert parse_origins(given, None) == (
        "https://review.example.org",
        "http://gerrit",
        "https://xn--bcher-kva.example",
    )
    assert parse_origins(None, "https://review.example.org:443/r/") == (
        "https://review.example.org",
    )


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("https://review.example.org/r", "has a path: a browser's Origin is only"),
        ("https://user:pw@review.example.org", "holds credentials"),
        ("ftp://review.example.org", "not an http:// or https:// origin"),
        ("review.example.org", "not an http:// or https:// origin"),
        ("https://review.example.org:99999", "bad port"),
        ("*", "not an http:// or https:// origin"),
        (42, "is not text"),
    ],
)
def test_a_bad_origin_says_why(item: object, says: str) -> None:
    problem = origin_problem(item)
    assert problem is not None
    assert says in problem


def test_every_bad_origin_is_named_with_its_index() -> None:
    with pytest.raises(ValueError, match=r"gerrit-origins\[1\].*\n.*gerrit-origins\[2\]"):
        parse_origins(["https://ok.example.org", "https://x/y", "*"], None)
    with pytest.raises(ValueError, match="expected a list of origins"):
        parse_origins("https://review.example.org", None)


def test_rerun_comments() -> None:
    assert parse_rerun_comments({"Acme CI": "  recheck acme "}) == {"Acme CI": "recheck acme"}
    assert parse_rerun_comments(None) == {}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"Acme CI": ""}, "rerun-comments.Acme CI: expected the comment"),
        ({"Acme CI": "recheck\nsubmit"}, "one line of at most 200"),
        ({"Acme CI": "x" * 201}, "one line of at most 200"),
        ({"Acme CI": ["recheck"]}, "expected the comment"),
        (["recheck"], "expected a mapping of CI account name"),
    ],
)
def test_a_bad_rerun_comment_says_where(data: object, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_rerun_comments(data)


def test_the_settings_file_carries_both(tmp_path: Path) -> None:
    path = tmp_path / "pages.yaml"
    path.write_text(
        "gerrit-url: https://review.example.org\n"
        "gerrit-origins: [https://review.example.org, https://gerrit-mirror.example.org]\n"
        "rerun-comments: {Acme CI: recheck acme}\n"
    )
    settings = load_pages_settings(path)
    assert settings.gerrit_origins == (
        "https://review.example.org",
        "https://gerrit-mirror.example.org",
    )
    assert settings.rerun_comments == {"Acme CI": "recheck acme"}
    path.write_text("gerrit-origins: [https://review.example.org/c/123]\n")
    with pytest.raises(PagesSettingsError, match=r"pages.yaml: gerrit-origins\[0\]"):
        load_pages_settings(path)
