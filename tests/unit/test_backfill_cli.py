"""`crosscheck results backfill` refuses bad arguments before asking Gerrit anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crosscheck.cli import main

#: Nothing listens there: a refusal that came after a request would say so instead.
NOWHERE = "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--ci-account", "Bad<Name>=crosscheck-ci"], "'Bad<Name>=crosscheck-ci': CI account"),
        (["--ci-account", "Acme CI"], "write NAME=GERRIT_USERNAME"),
        (["--until", "2026-11-30"], "'2026-11-30' is not after --since '2026-12-01'"),
    ],
)
def test_bad_arguments_are_refused_with_status_2_before_any_request(
    extra: list[str], words: str
) -> None:
    result = CliRunner().invoke(
        main,
        ["results", "backfill", "--gerrit", NOWHERE, "--since", "2026-12-01", *extra],
    )
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Connection refused" not in result.output
