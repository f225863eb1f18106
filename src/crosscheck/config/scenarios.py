"""The `scenario` elements: components on known connections, one chain of levels, channels.

After connections and results (a level counts the CI's own results account unless it
names others). Each problem is reported where it was written; a scenario with any
of them is left out, and the configuration with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from crosscheck.config.context import Context, Entry
from crosscheck.config.issues import Position, did_you_mean
from crosscheck.config.scenario_schema import ComponentSpec, LevelSpec, ScenarioSpec
from crosscheck.model.events import version_variable
from crosscheck.model.job import Job
from crosscheck.model.promotion import ApprovalRule, JobCriterion, Level, PublishRule
from crosscheck.model.scenario import Component, RefKind, ReleaseChannel, Scenario


def build_scenarios(context: Context, entries: list[Entry[ScenarioSpec]]) -> None:
    for entry in entries:
        if not context.define("scenario", entry.spec.name, entry.position):
            continue
        scenario = _Builder(context, entry).build()
        if scenario is not None:
            context.scenarios[scenario.name] = scenario


class _Builder:
    """One scenario; nothing is built once it has an error. Each check counts only its
    own errors before going further, so one broken component does not hide a broken
    level chain: every problem is reported in one pass, as for the other elements."""

    def __init__(self, context: Context, entry: Entry[ScenarioSpec]) -> None:
        self.context, self.spec, self.body = context, entry.spec, entry.body
        self.base = entry.position.path.parent
        self.errors = 0

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def error(self, message: str, position: Position, hint: str | None = None) -> None:
        self.context.issues.error(f"scenario '{self.spec.name}': {message}", position, hint)
        self.errors += 1

    def build(self) -> Scenario | None:
        components = [self.component(i, c) for i, c in enumerate(self.spec.components)]
        self.unique("component", "components")
        self.unique("level", "levels")
        self.unique("release channel", "channels")
        self.distinct_variables()
        order = self.chain()
        self.channels()
        if not self.ok:
            return None
        levels = {spec.name: spec for spec in self.spec.levels}
        for index, spec in enumerate(self.spec.levels):
            self.context.level_positions[(self.spec.name, spec.name)] = self.at(
                "levels", index, "name"
            )
        return Scenario(
            name=self.spec.name,
            description=self.spec.description,
            snapshot=self.spec.snapshot,
            components=tuple(c for c in components if c is not None),
            levels=tuple(self.level(levels[name]) for name in order),
            channels=tuple(ReleaseChannel(c.name, c.level) for c in self.spec.channels),
        )

    def at(self, key: str, index: int, field: str) -> Position:
        item = self.body[key][index]
        return item.position_of(field) if field in item else item.start  # type: ignore[no-any-return]

    def component(self, index: int, spec: ComponentSpec) -> Component | None:
        if spec.connection is not None and spec.connection not in self.context.connections:
            if not self.context.is_broken("connection", spec.connection):
                self.error(
                    f"component '{spec.name}' is on unknown connection '{spec.connection}'",
                    self.at("components", index, "connection"),
                    did_you_mean(spec.connection, self.context.connections)
                    or self.context.connections_hint(),
                )
            return None
        kind = next(k for k in RefKind if getattr(spec, k.value) is not None)
        return Component(
            name=spec.name,
            ref_kind=kind,
            ref=getattr(spec, kind.value),
            connection=spec.connection,
            project=spec.project,
            git_url=spec.git,
        )

    def unique(self, kind: str, key: str) -> None:
        first: dict[str, Position] = {}
        for index, item in enumerate(getattr(self.spec, key)):
            where = self.at(key, index, "name")
            if item.name in first:
                self.error(
                    f"{kind} '{item.name}' is defined twice (first at {first[item.name]})",
                    where,
                    "rename one of them, or remove the duplicate",
                )
            first.setdefault(item.name, where)

    def distinct_variables(self) -> None:
        """Builds of a candidate get CROSSCHECK_VERSION_<COMPONENT>: two names that map to
        one variable would have one version silently hide the other."""
        first: dict[str, str] = {}
        for index, component in enumerate(self.spec.components):
            variable = version_variable(component.name)
            seen = first.setdefault(variable, component.name)
            if seen != component.name:
                self.error(
                    f"components '{seen}' and '{component.name}' would both set {variable} "
                    "in a candidate's builds",
                    self.at("components", index, "name"),
                    "rename one of them",
                )

    def chain(self) -> list[str]:
        """The level names from the first up, once `below` makes them one chain."""
        levels = self.spec.levels
        names = [level.name for level in levels]
        before = self.errors
        for index, level in enumerate(levels):
            if level.below is not None and level.below not in names:
                self.error(
                    f"level '{level.name}' is above unknown level '{level.below}'",
                    self.at("levels", index, "below"),
                    did_you_mean(level.below, names) or "levels: " + ", ".join(names),
                )
        if self.errors > before:
            return []
        return self.one_chain(levels)

    def one_chain(self, levels: list[LevelSpec]) -> list[str]:
        before = self.errors
        firsts = [i for i, level in enumerate(levels) if level.below is None]
        for index in firsts[1:]:
            self.error(
                f"levels '{levels[firsts[0]].name}' and '{levels[index].name}' both have no "
                "level below: levels form one chain, and only the first has no 'below'",
                self.at("levels", index, "name"),
                f"put '{levels[index].name}' above another level with 'below'",
            )
        above: dict[str, int] = {}
        for index, level in enumerate(levels):
            if level.below is None:
                continue
            if level.below in above:
                other = levels[above[level.below]].name
                self.error(
                    f"levels '{other}' and '{level.name}' are both above '{level.below}': "
                    "levels form one chain, each level directly above at most one other",
                    self.at("levels", index, "below"),
                    f"put '{level.name}' above '{other}', or above the level '{other}' is below",
                )
            above.setdefault(level.below, index)
        if self.errors > before:
            return []
        return self.walk(levels, firsts, above)

    def walk(self, levels: list[LevelSpec], firsts: list[int], above: dict[str, int]) -> list[str]:
        order: list[str] = []
        index = firsts[0] if firsts else None
        while index is not None and levels[index].name not in order:  # never loop
            order.append(levels[index].name)
            index = above.get(levels[index].name)
        stuck = [(i, level) for i, level in enumerate(levels) if level.name not in order]
        if stuck:
            self.error(
                "levels " + ", ".join(f"'{level.name}'" for _, level in stuck) + " form a "
                "cycle through 'below': levels form one chain up from a first level",
                self.at("levels", stuck[0][0], "below"),
                "the first level has no 'below'; each other names the one it sits on",
            )
        return order

    def channels(self) -> None:
        names = [level.name for level in self.spec.levels]
        for index, channel in enumerate(self.spec.channels):
            if channel.level not in names:
                self.error(
                    f"release channel '{channel.name}' is from unknown level '{channel.level}'",
                    self.at("channels", index, "from"),
                    did_you_mean(channel.level, names) or "levels: " + ", ".join(names),
                )

    def publish(self, spec: LevelSpec) -> PublishRule | None:
        rule = spec.publish
        if rule is None:
            return None
        return PublishRule(
            rule.tag,
            rule.manifest,
            rule.webhook,
            webhook_secret_env=rule.webhook_secret_env,
            webhook_secret_file=_secret_path(rule.webhook_secret_file, self.base),
        )

    def level(self, spec: LevelSpec) -> Level:
        own = self.context.results.account
        approvals = spec.approvals
        return Level(
            name=spec.name,
            below=spec.below,
            jobs=tuple(JobCriterion(tuple(dict.fromkeys(j.alternatives))) for j in spec.jobs),
            accounts=tuple(dict.fromkeys(spec.accounts or [own])),
            soak=_span(spec.soak),
            max_age=_span(spec.max_age),
            approvals=(
                ApprovalRule(tuple(dict.fromkeys(approvals.by)), approvals.count)
                if approvals
                else None
            ),
            publish=self.publish(spec),
        )


def _secret_path(value: str | None, base: Path) -> Path | None:
    """Relative to the file that names it; `~` is the user's home."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _span(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def scenario_warnings(context: Context, jobs: Mapping[str, Job]) -> None:
    """A level no result could ever satisfy: its job is none of crosscheck's, and only
    crosscheck's own results count, so no other CI's report of it would either."""
    own = {context.results.account}
    runnable = {name for name, job in jobs.items() if not job.abstract}
    for scenario in context.scenarios.values():
        for level in scenario.levels:
            if not set(level.accounts) <= own:
                continue
            for job in level.jobs:
                if not runnable.intersection(job.alternatives):
                    _unreachable(context, scenario.name, level, job)


def _unreachable(context: Context, scenario: str, level: Level, job: JobCriterion) -> None:
    names = " or ".join(f"'{name}'" for name in job.alternatives)
    context.issues.warning(
        f"scenario '{scenario}': level '{level.name}' needs job {names}, which is no "
        f"crosscheck job, and counts only the results of '{level.accounts[0]}': nothing "
        "could ever satisfy it",
        context.level_positions.get((scenario, level.name)),
        "define the job, or list the CI account that reports it in 'accounts'",
    )
