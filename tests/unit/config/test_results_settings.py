"""The `results` element and the `ci` admin token: defaults, every key, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.model.config import ResultsConfig
from crosscheck.results.settings import settings_from_config

from .helpers import errors, load


def test_without_a_results_element_serve_embeds_the_service_and_reports_to_it(
    tmp_path: Path,
) -> None:
    result = load(tmp_path, "- ci: {name: Acme Storage CI}\n")
    assert result.config is not None, errors(result)
    results = result.config.results
    assert results == ResultsConfig(account="Acme Storage CI")
    assert results.serve
    assert results.public_reads
    assert results.reporting
    assert results.reports_to_itself
    assert results.report_url("http://ci.example.org:8080") == "http://ci.example.org:8080"
    assert (results.rate, results.burst) == (10.0, 100)
    assert result.config.ci.admin_token_env is None
    assert result.config.ci.admin_token_file is None


def test_every_key_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "pages.settings").write_text("gerrit-url: https://review.example.org\n")
    result = load(
        tmp_path,
        """
        - ci:
            name: Acme CI
            admin_token_file: secrets/admin.token
        - results:
            public_reads: false
            rate: 2.5
            burst: 20
            pages: pages.settings
            url: https://results.example.org/
            account: acme-ci
            token_file: ~/acme.token
        """,
    )
    assert result.config is not None, errors(result)
    results = result.config.results
    assert results == ResultsConfig(
        serve=True,
        public_reads=False,
        rate=2.5,
        burst=20,
        pages=tmp_path / "pages.settings",
        report=True,
        url="https://results.example.org/",
        account="acme-ci",
        token_file=Path("~/acme.token").expanduser(),
    )
    assert not results.reports_to_itself
    assert results.report_url("http://ignored") == "https://results.example.org/"
    assert result.config.ci.admin_token_file == tmp_path / "secrets" / "admin.token"


def test_reporting_elsewhere_without_serving_and_reporting_nowhere(tmp_path: Path) -> None:
    elsewhere = load(
        tmp_path,
        "- results: {serve: false, url: 'http://10.0.0.5:8080', token_env: RESULTS_TOKEN}\n",
    )
    assert elsewhere.config is not None, errors(elsewhere)
    assert elsewhere.config.results.report_url("http://me") == "http://10.0.0.5:8080"
    assert elsewhere.config.results.token_env == "RESULTS_TOKEN"
    nowhere = load(tmp_path, "- results: {serve: false}\n")
    assert nowhere.config is not None, errors(nowhere)
    assert not nowhere.config.results.reporting
    assert nowhere.config.results.report_url("http://me") is None
    quiet = load(tmp_path, "- results: {report: false}\n")
    assert quiet.config is not None, errors(quiet)
    assert quiet.config.results.serve
    assert quiet.config.results.report_url("http://me") is None


def test_bad_values_are_reported_at_their_place(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - results:
            rate: 0
            burst: lots
            url: ftp://results.example.org
            account: "Acme (storage)"
            publik_reads: true
        """,
    )
    assert result.config is None
    found = errors(result)
    assert len(found) == 5, found
    assert found[0].startswith("test.yaml:2:")
    assert "'rate'" in found[0]
    assert "greater than 0" in found[0]
    assert found[1].startswith("test.yaml:3:")
    assert "'burst'" in found[1]
    assert found[2].startswith("test.yaml:4:")
    assert "'ftp://results.example.org' is not a web address" in found[2]
    assert found[3].startswith("test.yaml:5:")
    assert "CI account name 'Acme (storage)'" in found[3]
    assert found[4].startswith("test.yaml:6:")
    assert "did you mean 'public_reads'?" in found[4]


def test_a_token_in_the_configuration_is_refused(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - ci:
            name: Acme CI
            admin_token: s3cret
        - results:
            url: https://results.example.org
            token: s3cret
        """,
    )
    assert result.config is None
    found = errors(result)
    assert len(found) == 2, found
    assert found[0].startswith("test.yaml:3:")
    assert "admin_token must not be written in the configuration" in found[0]
    assert "admin_token_file" in found[0]
    assert found[1].startswith("test.yaml:6:")
    assert "token must not be written in the configuration" in found[1]
    assert all("s3cret" not in line for line in found)


def test_inconsistent_settings_say_how_to_fix_them(tmp_path: Path) -> None:
    cases = {
        "- results: {url: 'https://r.example.org'}\n": "needs the CI account's token",
        "- results: {token_env: A, token_file: a.token}\n": "give token_env or token_file",
        "- results: {serve: false, pages: pages.yaml}\n": "pages configure the results service",
        "- results: {report: false, account: acme}\n": "account say where results are reported",
        "- results: {serve: false, token_env: A}\n": "no results service to report to",
        "- ci: {name: x, admin_token_env: A, admin_token_file: f}\n": (
            "give admin_token_env or admin_token_file"
        ),
    }
    for text, expected in cases.items():
        result = load(tmp_path, text)
        assert result.config is None, text
        (found,) = errors(result)
        assert found.startswith("test.yaml:1:"), found
        assert expected in found, found


def test_a_ci_name_that_cannot_name_a_ci_account_is_reported_at_the_name(
    tmp_path: Path,
) -> None:
    result = load(tmp_path, "- ci:\n    name: Acme CI (storage)\n")
    assert result.config is None
    (found,) = errors(result)
    assert found.startswith("test.yaml:2:11: error: results are reported as CI account")
    assert "account: acme-ci" in found
    named = load(tmp_path, "- ci:\n    name: Acme CI (storage)\n- results: {account: acme-ci}\n")
    assert named.config is not None, errors(named)
    assert named.config.results.account == "acme-ci"
    silent = load(tmp_path, "- ci:\n    name: Acme CI (storage)\n- results: {report: false}\n")
    assert silent.config is not None, errors(silent)


def test_a_second_results_element_is_an_error(tmp_path: Path) -> None:
    result = load(tmp_path, "- results: {rate: 1}\n- results: {rate: 2}\n")
    assert result.config is None
    assert errors(result) == [
        "test.yaml:2:3: error: 'results' is set twice (first at "
        f"{tmp_path / 'test.yaml'}:1:3) — keep one '- results:' element"
    ]


def test_a_broken_results_element_is_reported_once(tmp_path: Path) -> None:
    result = load(
        tmp_path, "- ci: {name: Acme CI (storage)}\n- results: {report: false, rate: 0}\n"
    )
    assert result.config is None
    (found,) = errors(result)
    assert "'rate'" in found


def test_max_result_age_is_a_duration_a_week_by_default(tmp_path: Path) -> None:
    default = load(tmp_path, "- ci: {name: Acme CI}\n")
    assert default.config is not None, errors(default)
    assert default.config.results.max_result_age == 7 * 86400
    given = load(tmp_path, "- ci: {name: Acme CI}\n- results: {max_result_age: 48h}\n")
    assert given.config is not None, errors(given)
    assert given.config.results.max_result_age == 48 * 3600
    wrong = load(tmp_path, "- ci: {name: Acme CI}\n- results: {max_result_age: soon}\n")
    assert wrong.config is None
    assert any("max_result_age" in e and "is not a duration" in e for e in errors(wrong))


def test_the_read_token_of_a_checks_tab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = load(
        tmp_path,
        """
        - results:
            public_reads: false
            read_token_file: secrets/read.token
        """,
    )
    assert result.config is not None, errors(result)
    results = result.config.results
    assert results.read_token_file == tmp_path / "secrets" / "read.token"
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "read.token").write_text("reader-secret\n")
    settings = settings_from_config(results, lambda: None)
    assert settings.read_token() == "reader-secret"
    monkeypatch.setenv("READ_TOKEN", "from-env")
    from_env = load(tmp_path, "- results: {read_token_env: READ_TOKEN}\n")
    assert from_env.config is not None
    assert settings_from_config(from_env.config.results, lambda: None).read_token() == "from-env"


def test_a_read_token_from_two_places_or_without_the_service_is_refused(tmp_path: Path) -> None:
    both = load(tmp_path, "- results: {read_token_env: A, read_token_file: b}\n")
    assert "give read_token_env or read_token_file, not both" in "\n".join(errors(both))
    unserved = load(tmp_path, "- results: {serve: false, read_token_env: A, url: null}\n")
    assert "read_token_env configure the results service served here" in "\n".join(errors(unserved))


def test_the_pages_file_is_checked_as_serve_reads_it(tmp_path: Path) -> None:
    missing = load(tmp_path, "- results: {pages: nowhere.yaml}\n")
    (problem,) = errors(missing)
    assert problem.startswith("test.yaml:1:")  # at the `pages` key
    assert "nowhere.yaml: cannot read the pages' settings" in problem
    (tmp_path / "pages.settings").write_text("gerrit-origins: [https://review.example.org/c/1]\n")
    bad = load(tmp_path, "- results: {pages: pages.settings}\n")
    (problem,) = errors(bad)
    assert "pages.settings: gerrit-origins[0]:" in problem


def test_a_pages_file_inside_the_configuration_directory_is_named_as_such(
    tmp_path: Path,
) -> None:
    (tmp_path / "pages.yaml").write_text("gerrit-url: https://review.example.org\n")
    (problem,) = errors(load(tmp_path, "- results: {pages: pages.yaml}\n"))
    assert "this looks like the results pages' settings file" in problem
    assert "outside the configuration directory" in problem
