"""An item's context (model/item_context.py) as the `items.context` column keeps it."""

from __future__ import annotations

import json
from typing import Any

from crosscheck.model.events import CandidateComponent
from crosscheck.model.item_context import Dependency, ItemContext, ScenarioVersions


def dump_context(context: ItemContext) -> str | None:
    """JSON, or None for an item built from its own change alone."""
    if context.empty:
        return None
    return json.dumps(
        {
            "dependencies": [_dependency_dict(d) for d in context.dependencies],
            "scenarios": [_scenario_dict(s) for s in context.scenarios],
        },
        sort_keys=True,
    )


def load_context(text: str | None) -> ItemContext:
    if not text:
        return ItemContext()
    data: dict[str, Any] = json.loads(text)
    return ItemContext(
        tuple(Dependency(**d) for d in data.get("dependencies", [])),
        tuple(_scenario_from(s) for s in data.get("scenarios", [])),
    )


def _dependency_dict(dependency: Dependency) -> dict[str, Any]:
    return {
        "connection": dependency.connection,
        "project": dependency.project,
        "branch": dependency.branch,
        "number": dependency.number,
        "patchset": dependency.patchset,
        "revision": dependency.revision,
        "ref": dependency.ref,
        "url": dependency.url,
        "status": dependency.status,
    }


def _scenario_dict(versions: ScenarioVersions) -> dict[str, Any]:
    return {
        "scenario": versions.scenario,
        "level": versions.level,
        "candidate": versions.candidate,
        "asked": versions.asked,
        "components": [
            {
                "name": c.name,
                "sha": c.sha,
                "connection": c.connection,
                "project": c.project,
                "git_url": c.git_url,
            }
            for c in versions.components
        ],
    }


def _scenario_from(data: dict[str, Any]) -> ScenarioVersions:
    return ScenarioVersions(
        data["scenario"],
        data.get("level"),
        data.get("candidate"),
        tuple(CandidateComponent(**c) for c in data.get("components", [])),
        data.get("asked"),
    )
