"""A scenario's component versions now: each component's branch tip, tag or pinned SHA,
with an operator's pins over them (`crosscheck candidate create --pin ...`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from crosscheck.drivers.base import DriverError, DriverNotFoundError, RefSource
from crosscheck.errors import CrosscheckError
from crosscheck.model.candidate import SHA
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.scheduler.context_plan import ScenarioUnavailableError


class VersionsError(CrosscheckError):
    """A component's version cannot be known: a pin names nothing, a ref is missing, a
    server does not answer. The message names the component and what to do."""


def pins_by_component(scenario: Scenario, pins: Mapping[str, str]) -> dict[str, str]:
    """Pins keyed by component name; a pin may name a component or its project."""
    by_name: dict[str, str] = {}
    for key, ref in pins.items():
        component = next(
            (c for c in scenario.components if key in (c.name, c.project, c.git_url)), None
        )
        if component is None:
            names = ", ".join(c.name for c in scenario.components)
            raise VersionsError(f"{scenario.name} has no component {key!r} (components: {names})")
        if not ref:
            raise VersionsError(f"the pin of {component.name} names no ref: write {key}=REF")
        by_name[component.name] = ref
    return by_name


async def resolve_versions(
    scenario: Scenario,
    sources: Mapping[str, RefSource],
    git: RefSource,
    pins: Mapping[str, str] | None = None,
    *,
    verify: bool = True,
) -> dict[str, str]:
    """Component name -> full commit id, for every component of the scenario. With
    `verify`, a pinned commit id is asked of its server (a plain git remote cannot say);
    without, it is taken as given."""
    pinned = pins_by_component(scenario, pins or {})
    versions: dict[str, str] = {}
    for component in scenario.components:
        source = git if component.git_url is not None else sources.get(component.connection or "")
        if source is None:
            raise VersionsError(
                f"{scenario.name}: component {component.name} is on connection "
                f"{component.connection!r}, which serve does not connect to"
            )
        pin = pinned.get(component.name)
        versions[component.name] = await _version(component, source, pin, verify=verify)
    return versions


async def _version(
    component: Component, source: RefSource, pin: str | None, *, verify: bool
) -> str:
    if pin is None and component.ref_kind is RefKind.SHA:
        return component.ref
    ref = pin if pin is not None else component.ref
    where = component.git_url or f"{component.connection}:{component.project}"
    # A plain git component is addressed by its URL, a Gerrit one by its project.
    address = component.git_url or component.project or ""
    if SHA.match(ref):
        if verify and pin is not None:
            await _exists(component, source, address, ref, where)
        return ref
    kinds = [component.ref_kind.value] if pin is None else ["branch", "tag"]
    for kind in kinds:
        try:
            return await source.commit_of(address, kind, ref)
        except DriverNotFoundError:
            continue
        except DriverError as error:
            raise VersionsError(f"component {component.name} ({where}): {error}") from error
    raise VersionsError(
        f"component {component.name} ({where}) has no {' or '.join(kinds)} {ref!r}: "
        "pin a branch, a tag or a full 40-hex commit id"
    )


async def _exists(
    component: Component, source: RefSource, address: str, sha: str, where: str
) -> None:
    """A pinned commit the server does not have is refused now, not at a build or a tag."""
    try:
        found = await source.has_commit(address, sha)
    except DriverError as error:
        raise VersionsError(f"component {component.name} ({where}): {error}") from error
    if found is False:
        raise VersionsError(
            f"component {component.name} ({where}) has no commit {sha}: pin a commit of "
            "the project, or a branch or a tag"
        )


def scenario_refs(
    sources: Mapping[str, RefSource], git: RefSource
) -> Callable[[Scenario], Awaitable[Mapping[str, str]]]:
    """A scenario's versions at its configured refs, for the scheduler's scenario jobs
    while the scenario has no candidate. A server that cannot say now is a DriverError
    there (the item is planned again later); a ref that does not exist is the
    configuration's fault, reported without a vote (ScenarioUnavailableError)."""

    async def refs(scenario: Scenario) -> Mapping[str, str]:
        try:
            return await resolve_versions(scenario, sources, git)
        except VersionsError as error:
            if isinstance(error.__cause__, DriverError):
                raise DriverError(str(error)) from error
            raise ScenarioUnavailableError(f"scenario {scenario.name}: {error}") from error

    return refs
