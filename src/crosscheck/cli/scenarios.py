"""The configuration and its scenarios, for the promotion and candidate commands."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from crosscheck.config import load_config
from crosscheck.errors import ConfigInvalidError
from crosscheck.model.config import Config
from crosscheck.model.scenario import Scenario
from crosscheck.paths import default_config_paths


def configured_config(config_paths: Iterable[Path]) -> Config:
    """The configuration given (or the default one); an invalid one stops the command
    with its errors."""
    result = load_config(list(config_paths) or default_config_paths())
    if result.config is None:
        raise ConfigInvalidError(result.errors, result.unchecked)
    return result.config


def configured_scenarios(config_paths: Iterable[Path]) -> list[Scenario]:
    """The scenarios of the configuration given (or the default one), by name."""
    return sorted(configured_config(config_paths).scenarios.values(), key=lambda s: s.name)
