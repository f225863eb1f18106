"""Changes in a scenario, and changes a `Depends-On:` footer names.

A job run in a scenario gets every component of the scenario at the versions its item
was planned with, and the item's change, after the changes it depends on, merged onto
its own component:

    <src>/<scenario>/                    where steps run
        <component>/                     each component at its version, changes merged
        <project>/                       a changed project that is no component
        pinned-versions.yaml             scenario, candidate, versions, changes merged

A job without a scenario gets its dependencies merged into the checkout of their
project, or checked out beside it at their branch tip. Every fetch goes through the
mirror of the change's own connection: two Gerrits' projects never mix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crosscheck.executor.candidate_workspace import PINNED_VERSIONS, check_out_component
from crosscheck.executor.clones import clone_mirror, first_branch
from crosscheck.executor.fetch_plan import Need
from crosscheck.executor.git import Git, GitError
from crosscheck.executor.mirrors import project_path
from crosscheck.executor.sources import Sources
from crosscheck.executor.workspace import (
    DEFAULT_BRANCHES,
    Checkout,
    MergeConflictError,
    Workspace,
    abandon_merge,
    refused_by_content,
)
from crosscheck.model.build import BuildRequest, patchset_ref
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event
from crosscheck.model.item_context import Dependency, ScenarioVersions, change_label


@dataclass(frozen=True)
class Change:
    """A change to merge into the workspace: the item's own, or one it depends on."""

    connection: str
    project: str
    branch: str
    ref: str
    label: str


def own_change(event: Event) -> Change | None:
    if event.change is None or event.patchset is None:
        return None
    change, patchset = event.change, event.patchset
    ref = patchset_ref(change.number, patchset)
    label = change_label(event.connection, change.number, patchset.number)
    return Change(event.connection, change.project, change.branch, ref, label)


def used_connections(request: BuildRequest) -> dict[str, GerritConnection]:
    """The configured connections a build fetches from: its own, its candidate's or its
    scenarios' components', its dependencies'."""
    used = {request.connection.name} if request.connection is not None else set()
    candidate = request.event.candidate
    components = [
        *(candidate.components if candidate else ()),
        *(c for s in request.context.scenarios for c in s.components),
    ]
    used |= {c.connection for c in components if c.connection}
    used |= {d.connection for d in request.context.dependencies}
    known = {**request.connections}
    if request.connection is not None:
        known.setdefault(request.connection.name, request.connection)
    return {name: c for name, c in known.items() if name in used}


async def with_dependencies(
    workspace: Workspace, changes: Sequence[Change], connection: str, sources: Sources
) -> Workspace:
    """A change's usual workspace with its dependencies merged: into the checkout of
    their project on the change's own Gerrit, else beside it at their branch tip."""
    checkouts = {(connection, c.project): c for c in (workspace.main, *workspace.required)}
    await apply_changes(changes, checkouts, workspace.src_root, sources)
    by_key = {c.project: c for c in checkouts.values()}
    main = by_key.get(workspace.main.project, workspace.main)
    required = tuple(c for c in checkouts.values() if c.path != main.path)
    return Workspace(workspace.src_root, main, required, workspace.commit_message, by_key)


def changes_to_apply(dependencies: Sequence[Dependency], own: Change | None) -> list[Change]:
    """Unmerged dependencies deepest first, then the item's own change."""
    found = [
        Change(d.connection, d.project, d.branch, d.ref, d.label)
        for d in dependencies
        if not d.merged
    ]
    return found + ([own] if own is not None else [])


async def prepare_in_scenario(
    versions: ScenarioVersions, changes: Sequence[Change], src_root: Path, sources: Sources
) -> Workspace:
    """Every component at its version under `<src_root>/<scenario>`, `changes` merged."""
    root = src_root / versions.scenario
    root.mkdir(parents=True, exist_ok=True)
    checkouts: dict[tuple[str, str], Checkout] = {}
    for component in versions.components:
        # A change's ref is fetched where it is merged: one fetch, which also brings the
        # branch tip its series is counted from.
        checkout = await check_out_component(component, root, sources)
        checkouts[(component.connection or "", component.project or "")] = checkout
    merged = await apply_changes(changes, checkouts, root, sources)
    (root / PINNED_VERSIONS).write_text(yaml.safe_dump(_pinned(versions, changes, merged)))
    main = Checkout(versions.scenario, root, None, versions.candidate or "")
    required = tuple(dict.fromkeys(checkouts.values()))
    return Workspace(src_root, main, required, "", {c.project: c for c in required})


async def apply_changes(
    changes: Sequence[Change],
    checkouts: dict[tuple[str, str], Checkout],
    root: Path,
    sources: Sources,
) -> dict[str, str]:
    """Merge each change into its project's checkout, making one beside at the branch
    tip when there is none; label -> the commit its checkout is at after it."""
    merged: dict[str, str] = {}
    mirrors = await _mirrors(changes, sources)
    for change in changes:
        key = (change.connection, change.project)
        checkout = checkouts.get(key)
        if checkout is None:
            checkout = await _beside(change, root, sources, mirrors[key])
        checkout = await _merge(change, checkout, sources, mirrors[key])
        checkouts[key] = checkout
        merged[change.label] = checkout.revision
    return merged


async def _mirrors(changes: Sequence[Change], sources: Sources) -> dict[tuple[str, str], Path]:
    """Each project's mirror, fetched at most once for all its changes: their refs (a
    patchset's ref never moves: one the mirror has is not fetched again; checkouts
    fetch it from there) and the branch tips they go onto."""
    commits: dict[tuple[str, str], dict[str, str | None]] = {}
    tips: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        key = (change.connection, change.project)
        commits.setdefault(key, {})[change.ref] = change.ref
        tips.setdefault(key, []).append(f"refs/heads/{change.branch}")
    return {
        key: await sources.mirror(
            key[0], key[1], Need(wanted, tuple(dict.fromkeys(tips[key])), since=sources.since)
        )
        for key, wanted in commits.items()
    }


async def _beside(change: Change, root: Path, sources: Sources, mirror: Path) -> Checkout:
    target = project_path(root, change.project)
    if target.exists():
        raise GitError(
            f"{change.label} is on {change.project}, whose place {target.name}/ in the "
            "workspace is taken by a component of another name"
        )
    git = sources.git_for(change.connection)
    branch = await first_branch(git, mirror, (change.branch, *DEFAULT_BRANCHES), "refs/heads/")
    if branch is None:
        raise GitError(
            f"{change.project} has no branch {change.branch!r} to merge {change.label} onto"
        )
    await clone_mirror(git, mirror, target, shared=sources.shared, branch=branch)
    public = sources.remote(change.connection).public_url(change.project)
    await git.run("remote", "set-url", "origin", public, cwd=target)
    head = (await git.run("rev-parse", "HEAD", cwd=target)).strip()
    return Checkout(change.project, target, branch, head)


async def _merge(change: Change, checkout: Checkout, sources: Sources, mirror: Path) -> Checkout:
    """Onto a branch tip, the change is merged (as for any change); onto a component
    detached at its version, only the change's own commits are picked, so the
    component stays at the version the scenario pins and gains exactly the change."""
    git = sources.git_for(change.connection)
    path = checkout.path
    await git.run("fetch", "--quiet", str(mirror), change.ref, cwd=path)
    try:
        if checkout.branch is not None:
            await git.run("merge", "--quiet", "--no-edit", "FETCH_HEAD", cwd=path)
        else:
            series = await _series(git, mirror, change, path)
            await git.run("cherry-pick", "--allow-empty", "--keep-redundant-commits", *series,
                          cwd=path)  # fmt: skip
    except GitError as error:
        raise await _conflict(git, change, checkout, error) from error
    head = (await git.run("rev-parse", "HEAD", cwd=path)).strip()
    return Checkout(checkout.project, path, checkout.branch, head)


async def _series(git: Git, mirror: Path, change: Change, path: Path) -> list[str]:
    """The change's commits not yet on its branch, oldest first: the change and the
    open changes below it in its repository."""
    fetched = (await git.run("rev-parse", "FETCH_HEAD", cwd=path)).strip()
    tip = f"refs/crosscheck/tip/{change.branch}"
    await git.run("fetch", "--quiet", str(mirror), f"+refs/heads/{change.branch}:{tip}", cwd=path)
    listed = await git.run("rev-list", "--reverse", "--no-merges", f"{tip}..{fetched}", cwd=path)
    return listed.split() or [fetched]


async def _conflict(git: Git, change: Change, checkout: Checkout, error: GitError) -> GitError:
    files = await abandon_merge(git, checkout.path)
    onto = f"{checkout.project} at {checkout.revision[:12]}"
    if files:
        return MergeConflictError(
            f"{change.label} does not merge onto {onto}: conflict in {', '.join(files)}", files
        )
    if not refused_by_content(error):  # a commit missing here: not the change's fault
        return GitError(
            f"{change.label} could not be merged onto {onto}: {error}",
            error.returncode,
            error.stderr,
        )
    return MergeConflictError(f"{change.label} does not merge onto {onto}: {error}", ())


def _pinned(
    versions: ScenarioVersions, changes: Sequence[Change], merged: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "scenario": versions.scenario,
        "candidate": versions.candidate,
        "level": versions.level,
        "components": {c.name: c.sha for c in versions.components},
        "changes": [
            {
                "change": c.label,
                "project": c.project,
                "ref": c.ref,
                "merged_at": merged.get(c.label),
            }
            for c in changes
        ],
    }
