"""An item's context: each job finds the versions of the scenario and level it names,
and the context survives the store's JSON unchanged."""

from __future__ import annotations

from crosscheck.model.build import BuildRequest
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import CandidateComponent, Event
from crosscheck.model.item_context import Dependency, ItemContext, ScenarioVersions
from crosscheck.model.job import Job, JobScenario
from crosscheck.store.context_codec import dump_context, load_context

NOVA = CandidateComponent("nova", "1" * 40, "upstream", "openstack/nova")
NEWEST = ScenarioVersions("os-odl", None, "a" * 64, (NOVA,))
DAILY = ScenarioVersions("os-odl", "daily", "b" * 64, (NOVA,), asked="daily")
DEPENDENCY = Dependency(
    "integrating", "opnfv/releng", "master", 45, 2, "c" * 40, "refs/changes/45/45/2",
    "https://review.opnfv.example/c/opnfv/releng/+/45", "NEW",
)  # fmt: skip


def request_for(job: Job, context: ItemContext) -> BuildRequest:
    event = Event("patchset-created", "upstream", 1, project="openstack/nova")
    upstream = GerritConnection(
        "upstream", "review.example.org", "ci", "https://review.example.org"
    )
    return BuildRequest("b1", 1, "check", job, event, upstream, {}, context)


def test_jobs_naming_one_scenario_at_two_levels_each_get_their_own_versions() -> None:
    context = ItemContext((), (NEWEST, DAILY))
    newest = request_for(Job("a", scenario=JobScenario("os-odl")), context)
    daily = request_for(Job("b", scenario=JobScenario("os-odl", "daily")), context)
    plain = request_for(Job("c"), context)
    assert newest.scenario == NEWEST
    assert daily.scenario == DAILY
    assert plain.scenario is None
    assert (newest.workspace_name, plain.workspace_name) == ("os-odl", "openstack/nova")


def test_the_context_reads_back_from_the_store_as_written() -> None:
    context = ItemContext((DEPENDENCY,), (NEWEST, DAILY))
    assert load_context(dump_context(context)) == context
    assert dump_context(ItemContext()) is None
    assert load_context(None) == ItemContext()


def test_two_levels_that_took_one_candidate_are_said_once() -> None:
    fell_back = ScenarioVersions("os-odl", None, "a" * 64, (NOVA,), asked="weekly")
    context = ItemContext((), (NEWEST, fell_back, DAILY))
    assert context.distinct_scenarios == (NEWEST, DAILY)
    assert context.scenario("os-odl", "weekly") == fell_back  # its jobs still find theirs
