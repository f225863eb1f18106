"""Every manager a pipeline may name has its class; the scheduler asks it, not the name."""

from __future__ import annotations

import pytest

from crosscheck.model.pipeline import Manager, Pipeline
from crosscheck.scheduler.managers import IndependentManager, SupercedentManager, manager_for


@pytest.mark.parametrize(
    ("manager", "kind"),
    [(Manager.INDEPENDENT, IndependentManager), (Manager.SUPERCEDENT, SupercedentManager)],
)
def test_each_pipeline_gets_its_managers_policy(manager: Manager, kind: type) -> None:
    assert isinstance(manager_for(Pipeline("p", manager, ())), kind)


def test_every_manager_value_has_a_policy() -> None:
    for manager in Manager:
        manager_for(Pipeline("p", manager, ()))  # a KeyError here: a value without a class
