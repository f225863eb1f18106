"""What to write instead of an unknown scenario or level, for the elements that name one
(jobs, pipelines of candidates). Apart from the scenarios' own building, which loads the
promotion model: a configuration without scenarios never needs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosscheck.config.context import Context
from crosscheck.config.issues import did_you_mean

if TYPE_CHECKING:
    from crosscheck.model.scenario import Scenario


def scenario_hint(context: Context, name: str) -> str:
    """What to write instead of an unknown scenario's name."""
    return did_you_mean(name, list(context.scenarios)) or "scenarios: " + (
        ", ".join(context.scenarios) or "none is configured"
    )


def level_hint(scenario: Scenario, level: str) -> str:
    """What to write instead of a level the scenario does not have."""
    levels = [known.name for known in scenario.levels]
    return did_you_mean(level, levels) or "levels: " + ", ".join(levels)
