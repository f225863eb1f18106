"""The command line imports only the subcommand that runs: `config check` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from crosscheck.cli import main

EXAMPLES = Path(__file__).parents[3] / "examples"
EXAMPLE = EXAMPLES / "storage-driver-ci"
#: What `config check` must not load: other commands' libraries, and Rich off a terminal.
HEAVY = ("rich", "asyncssh", "cryptography", "sqlalchemy", "fastapi", "uvicorn", "croniter")

LOADED = """
import json, sys
from crosscheck.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


#: What a configuration without scenarios needs none of: the promotion model.
PROMOTION = (
    "crosscheck.config.scenarios",
    "crosscheck.model.promotion",
    "crosscheck.model.scenario",
    "crosscheck.model.results",
    "crosscheck.model.events",
)


def modules_loaded_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, check=True
    )
    assert "0 error(s)" in done.stdout, done.stdout
    return set(json.loads(done.stderr.splitlines()[-1]))


def loaded_by(*args: str) -> set[str]:
    return {name.split(".")[0] for name in modules_loaded_by(*args)}


def test_config_check_loads_none_of_the_other_commands_libraries() -> None:
    loaded = loaded_by("config", "check", str(EXAMPLE))
    assert {"yaml", "pydantic"} <= loaded  # what it does need
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_a_configuration_without_scenarios_loads_no_promotion_model() -> None:
    loaded = modules_loaded_by("config", "check", str(EXAMPLE))
    assert "crosscheck.config.schema" in loaded
    assert loaded.isdisjoint(PROMOTION), sorted(loaded.intersection(PROMOTION))


def test_a_configuration_with_scenarios_loads_it_and_checks_them() -> None:
    loaded = modules_loaded_by("config", "check", str(EXAMPLES / "opnfv-promotion"))
    assert {"crosscheck.config.scenarios", "crosscheck.model.promotion"} <= loaded


def test_version_is_looked_up_when_asked_for() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("crosscheck, version ")
    assert result.output.strip() != "crosscheck, version"


def test_issues_off_a_terminal_are_plain_lines() -> None:
    result = CliRunner().invoke(main, ["config", "check", "--strict", str(EXAMPLE)])
    assert "\x1b[" not in result.output
    assert result.output.splitlines()[-1].endswith("job(s)")
