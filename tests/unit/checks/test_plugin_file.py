"""The plugin file as `crosscheck checks plugin` writes it, and serve's own Rerun comment."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crosscheck.checks.plugin import PLACEHOLDER, PluginConfig, built_plugin, plugin_source
from crosscheck.cli import main
from crosscheck.config import load_config
from crosscheck.serve.web_app import with_own_gerrits, with_own_rerun
from crosscheck.web import PagesSettings


def configured(text: str) -> Any:
    (literal,) = re.findall(r'RAW_CONFIG = ("(?:[^"\\]|\\.)*");', text)
    return json.loads(json.loads(literal))


def test_the_package_ships_the_built_plugin_with_one_placeholder() -> None:
    built = built_plugin()
    assert built.count(PLACEHOLDER) == 1
    assert not re.search(r"^\s*(import|export)\b", built, re.MULTILINE)


def test_the_configuration_is_written_as_an_inert_string() -> None:
    hostile = 'https://ci.example.org/"; window.__pwned = 1; "\u2028</script>'
    text = plugin_source(PluginConfig(hostile, read_token='t0k"en', poll_seconds=30))
    assert configured(text) == {"resultsUrl": hostile, "readToken": 't0k"en', "pollSeconds": 30}
    assert "\u2028" not in text


def test_the_cli_writes_the_file_with_the_read_token(tmp_path: Path) -> None:
    target = tmp_path / "crosscheck-checks.js"
    done = CliRunner().invoke(
        main,
        [
            *("checks", "plugin", "--results-url", "https://ci.example.org/results/"),
            *("-o", str(target), "--read-token-env", "READER"),
        ],
        env={"READER": "secret-reader"},
    )
    assert done.exit_code == 0, done.output
    assert configured(target.read_text()) == {
        "resultsUrl": "https://ci.example.org/results",
        "readToken": "secret-reader",
        "pollSeconds": 60,
    }
    assert "holds the read token" in done.output
    assert target.stat().st_mode & 0o777 == 0o600  # the token is the owner's until copied


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--results-url", "ci.example.org"], "'ci.example.org' is not an http:// or https://"),
        (["--results-url", "javascript:alert(1)"], "is not an http:// or https:// address"),
        (["--results-url", "https://ci.example.org/?x=1"], "has a query or a fragment"),
        (
            ["--results-url", "https://ci.example.org", "-o", "/nonexistent-dir/x.js"],
            "/nonexistent-dir is not a directory",
        ),
        (["--results-url", "https://u:p@ci.example.org"], "holds credentials"),
        (
            [
                *("--results-url", "https://ci.example.org"),
                *("--read-token-env", "A", "--read-token-file", "b"),
            ],
            "not both",
        ),
        (["--results-url", "https://ci.example.org", "--read-token-env", "UNSET_X"], "UNSET_X"),
        (["--results-url", "https://ci.example.org", "--poll-seconds", "1"], "--poll-seconds"),
    ],
)
def test_bad_arguments_say_which(arguments: list[str], says: str) -> None:
    done = CliRunner().invoke(main, ["checks", "plugin", *arguments], env={"UNSET_X": ""})
    assert done.exit_code != 0
    assert says in done.output


CI = """\
- connection:
    {name: g, driver: gerrit, host: review.example.org, user: ci, http_url: "https://r.example.org"}
- pipeline:
    name: check
    manager: independent
    trigger: {g: [{event: %s}]}
"""


def own_rerun(tmp_path: Path, event: str, pages: PagesSettings) -> dict[str, str]:
    (tmp_path / "ci.yaml").write_text(CI % event)
    loaded = load_config([tmp_path / "ci.yaml"])
    assert loaded.config is not None, loaded.errors
    return dict(with_own_rerun(pages, loaded.config).rerun_comments)


def test_serve_reruns_itself_with_run_its_name(tmp_path: Path) -> None:
    assert own_rerun(tmp_path, "comment-added", PagesSettings()) == {"crosscheck": "run crosscheck"}
    given = PagesSettings(rerun_comments={"crosscheck": "recheck please"})
    assert own_rerun(tmp_path, "comment-added", given) == {"crosscheck": "recheck please"}


def test_no_rerun_when_no_pipeline_reads_comments(tmp_path: Path) -> None:
    assert own_rerun(tmp_path, "patchset-created", PagesSettings()) == {}


def test_serve_lets_the_gerrits_it_listens_to_read_unless_told_otherwise(tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text(CI % "comment-added")
    loaded = load_config([tmp_path / "ci.yaml"])
    assert loaded.config is not None, loaded.errors
    own = with_own_gerrits(PagesSettings(), loaded.config)
    assert own.gerrit_origins == ("https://r.example.org",)
    given = PagesSettings(gerrit_origins=("https://other.example.org",))
    assert with_own_gerrits(given, loaded.config).gerrit_origins == ("https://other.example.org",)
