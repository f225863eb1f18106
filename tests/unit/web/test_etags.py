"""The change twin's entity tags (etags.py)."""

from __future__ import annotations

from crosscheck.http.kept_bodies import none_match
from crosscheck.model.expected import ExpectedCIs
from crosscheck.results.reads import ChangeVersion
from crosscheck.web import PagesSettings
from crosscheck.web.etags import change_etag, settings_tag


def test_the_tag_follows_the_results_and_the_settings_that_shape_the_page() -> None:
    plain = settings_tag(PagesSettings())
    assert plain == settings_tag(PagesSettings())
    assert plain != settings_tag(PagesSettings(gerrit_url="https://review.example"))
    other = PagesSettings(expected_cis=ExpectedCIs((("*", ("A CI",)),)))
    assert plain != settings_tag(other)
    assert settings_tag(PagesSettings(page_size=5)) == plain  # not on the change page
    tags = {change_etag(ChangeVersion(n, i), plain) for n, i in ((3, 9), (4, 9), (3, 10))}
    assert len(tags) == 3
    assert change_etag(ChangeVersion(3, 9), plain) == f'"3.9.{plain}"'


def test_if_none_match_compares_weakly_and_accepts_lists_and_star() -> None:
    etag = '"3.9.abc"'
    assert none_match(etag, etag)
    assert none_match(f"W/{etag}", etag)
    assert none_match(f'"1.1.abc", {etag}', etag)
    assert none_match(" * ", etag)
    assert not none_match('"3.9.abd"', etag)
    assert not none_match("3.9.abc", etag)  # unquoted: not the tag
    assert not none_match("", etag)
