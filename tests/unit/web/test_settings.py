from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.cli.results import _pages
from crosscheck.config.pages import PagesSettingsError, load_pages_settings
from crosscheck.results.reads import Cursor


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pages.yaml"
    path.write_text(text)
    return path


def test_settings_file_with_both_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "gerrit-url: https://review.example.org\nexpected-cis:\n  'openstack/*': [Acme CI]\n",
    )
    settings = load_pages_settings(path)
    assert settings.gerrit_url == "https://review.example.org"
    assert settings.expected_cis.for_project("openstack/nova") == ("Acme CI",)


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load_pages_settings(write(tmp_path, "")).expected_cis.rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "expected_cis: {}\n",
            "unknown key(s) expected_cis: the keys are gerrit-url, gerrit-origins, "
            "expected-cis, rerun-comments",
        ),
        ("gerrit-url: javascript:alert(1)\n", "gerrit-url must be an http:// or https:// address"),
        ("- a\n", "expected a mapping with keys"),
        ("expected-cis: {p: [bad/name]}\n", "expected-cis.p[0]: CI account name 'bad/name'"),
        ("a: [\n", "cannot read the pages' settings"),
    ],
)
def test_bad_settings_say_where_and_what(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PagesSettingsError, match=re.escape(message)) as caught:
        load_pages_settings(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PagesSettingsError, match="cannot read"):
        load_pages_settings(tmp_path / "absent.yaml")


@pytest.mark.parametrize("text", ["", "x", "2024-05-01T00:00:00~x", "2024-05-01T00:00:00~3", "~~"])
def test_malformed_cursors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="page cursor"):
        Cursor.decode(text)


def test_a_cursor_survives_its_round_trip() -> None:
    cursor = Cursor.decode("2024-05-01T10:00:00.123456+00:00~42")
    assert Cursor.decode(cursor.encode()) == cursor


def test_serve_refuses_a_bad_pages_file_with_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, "expected-cis: {'^(': [Acme CI]}\n")
    result = CliRunner().invoke(main, ["results", "serve", "--pages-settings", str(path)])
    assert result.exit_code == 1
    assert f"{path}: expected-cis.^(: allowed-project regex '^(' is invalid" in result.output


def test_gerrit_url_links_the_pages_unless_the_pages_file_names_another(tmp_path: Path) -> None:
    assert _pages(None, "https://review.example.org").gerrit_url == "https://review.example.org"
    # Its Checks tab may read, as with the file's own gerrit-url.
    assert _pages(None, "https://review.example.org").gerrit_origins == (
        "https://review.example.org",
    )
    assert _pages(None, None).gerrit_url is None
    path = write(tmp_path, "gerrit-url: https://other.example.org\n")
    assert _pages(path, "https://review.example.org").gerrit_url == "https://other.example.org"
