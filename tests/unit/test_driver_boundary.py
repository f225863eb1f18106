"""The driver boundary: config/ reads drivers through their contract, the engine through
drivers/base.py, and a second driver needs nothing of config/ to be configured."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BeforeValidator, Field

import crosscheck
from crosscheck.config import load_config
from crosscheck.drivers.config import ConnectionSpec, DriverConfig, PathResolver, TriggerContext
from crosscheck.drivers.registry import DRIVERS
from crosscheck.model.connection import GerritConnection
from crosscheck.specs import Regex, Spec, as_list
from tests.unit.config.helpers import errors, load, write

PACKAGE = Path(crosscheck.__file__).parent


@dataclass(frozen=True)
class GitConnection:
    name: str
    url: str


@dataclass(frozen=True)
class GitTrigger:
    connection: str
    branch: re.Pattern[str] | None


class GitConnectionSpec(ConnectionSpec):
    driver: Literal["git"]
    url: Annotated[str, Field(pattern=r"^(https?|ssh)://\S+$")]


class GitTriggerSpec(Spec):
    event: Annotated[list[Literal["ref-updated"]], BeforeValidator(as_list), Field(min_length=1)]
    branch: Regex | None = None


def git_connection(spec: GitConnectionSpec, path: PathResolver) -> GitConnection:
    return GitConnection(spec.name, spec.url)


def git_trigger(spec: GitTriggerSpec, context: TriggerContext) -> GitTrigger:
    branch = re.compile(spec.branch) if spec.branch is not None else None
    return GitTrigger(context.connection, branch)


GIT = DriverConfig(
    name="git",
    connection_spec=GitConnectionSpec,
    trigger_spec=GitTriggerSpec,
    connection=git_connection,
    trigger=git_trigger,
)

#: A Gerrit connection (the default driver) beside a git one, and a pipeline on the latter.
TWO_DRIVERS = """
- connection:
    name: review
    host: review.example.org
    user: ci
    http_url: https://review.example.org/
- connection:
    name: upstream
    driver: git
    url: https://git.example.org/acme.git
- pipeline:
    name: post
    manager: supercedent
    trigger:
      upstream:
        - event: ref-updated
          branch: ^main$
- label: {name: lab}
- job: {name: build, node: lab, run: [make]}
- project: {name: acme, connection: upstream, post: {jobs: [build]}}
"""


@pytest.fixture
def git_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DRIVERS, GIT.name, GIT)


@pytest.mark.usefixtures("git_driver")
def test_a_second_driver_s_connection_and_trigger_reach_the_model(tmp_path: Path) -> None:
    result = load_config(write(tmp_path, {"ci.yaml": TWO_DRIVERS}))
    assert errors(result) == []
    assert result.config is not None
    connections: dict[str, object] = dict(result.config.connections)
    assert connections["upstream"] == GitConnection("upstream", "https://git.example.org/acme.git")
    assert isinstance(connections["review"], GerritConnection)
    triggers: tuple[Any, ...] = result.config.pipelines["post"].triggers
    assert triggers == (GitTrigger("upstream", re.compile("^main$")),)
    assert result.config.projects[0].connection == "upstream"


@pytest.mark.usefixtures("git_driver")
def test_a_second_driver_s_rules_are_checked_by_its_own_specs(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - connection: {name: upstream, driver: git, url: https://git.example.org/a.git}
        - pipeline:
            name: post
            manager: supercedent
            trigger: {upstream: [{event: ref-updated, comment: recheck}]}
        """,
    )
    assert errors(result) == [
        "test.yaml:5:47: error: unknown key 'comment' in trigger 1 on 'upstream' of pipeline "
        "'post' — valid keys: branch, event"
    ]


@pytest.mark.usefixtures("git_driver")
def test_an_unknown_driver_is_a_choice_among_the_registered_ones(tmp_path: Path) -> None:
    result = load(tmp_path, "- connection: {name: u, driver: gti, url: https://g/a.git}\n")
    found = errors(result)
    unknown = "'driver' in connection 'u': Input should be 'gerrit' or 'git'"
    assert f"test.yaml:1:33: error: {unknown}" in found
    # Its other keys are checked as the default driver's, as when Gerrit was the only one.
    assert "test.yaml:1:15: error: missing required key 'host' in connection 'u'" in found


def imported_names(path: Path) -> set[str]:
    """Every module or module member a file imports, dotted in full."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def offenders(package: str, allowed: Any) -> dict[str, list[str]]:
    """The files of `package` importing a name `allowed(name)` refuses, with those names."""
    found = {
        str(path.relative_to(PACKAGE)): sorted(n for n in imported_names(path) if not allowed(n))
        for path in (PACKAGE / package).rglob("*.py")
    }
    return {path: names for path, names in found.items() if names}


@pytest.mark.parametrize("package", ["scheduler", "executor", "operator"])
def test_the_engine_reads_drivers_only_through_their_interfaces(package: str) -> None:
    def allowed(name: str) -> bool:
        inside = name == "crosscheck.drivers" or name.startswith("crosscheck.drivers.")
        return not inside or name.startswith("crosscheck.drivers.base.")

    assert offenders(package, allowed) == {}


def test_drivers_import_nothing_of_config() -> None:
    assert offenders("drivers", lambda name: not name.startswith("crosscheck.config")) == {}


def test_config_reaches_drivers_only_through_their_contract_and_the_registry() -> None:
    def allowed(name: str) -> bool:
        contract = ("crosscheck.drivers.config.", "crosscheck.drivers.registry.")
        return not name.startswith("crosscheck.drivers") or name.startswith(contract)

    assert offenders("config", allowed) == {}


def test_specs_import_only_pydantic_the_standard_library_the_model_and_errors() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".", maxsplit=1)[0]
        mine = ("crosscheck.specs", "crosscheck.model", "crosscheck.errors")
        return top in sys.stdlib_module_names or top == "pydantic" or name.startswith(mine)

    assert offenders("specs", allowed) == {}
