"""A candidate's workspace: every component of its scenario at its commit, side by side.

    <src>/<scenario>/                    where steps run
        <component>/                     each component, detached at its commit
        pinned-versions.yaml             scenario, candidate, level, component -> commit

Gerrit components come through the mirror cache from their own connection (its
credentials, if any); a plain git URL through a mirror of its own. Each clone's
`origin` then names the public URL, never the cache nor a credential.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from crosscheck.executor.clones import clone_mirror
from crosscheck.executor.fetch_plan import Need
from crosscheck.executor.git import GitError, secret_free
from crosscheck.executor.mirrors import fetch_failure
from crosscheck.executor.sources import Sources
from crosscheck.executor.workspace import Checkout, Workspace
from crosscheck.model.events import CandidateComponent, CandidateItem

PINNED_VERSIONS = "pinned-versions.yaml"
#: The mirror cache's "connection" of plain git URLs.
PLAIN_GIT = "git"


async def prepare_candidate(
    candidate: CandidateItem, src_root: Path, sources: Sources
) -> Workspace:
    """Check every component out at its commit under `<src_root>/<scenario>`."""
    root = src_root / candidate.scenario
    root.mkdir(parents=True, exist_ok=True)
    checkouts = [
        await check_out_component(component, root, sources) for component in candidate.components
    ]
    pinned = {
        "scenario": candidate.scenario,
        "candidate": candidate.id,
        "level": candidate.level,
        "components": {c.name: c.sha for c in candidate.components},
    }
    (root / PINNED_VERSIONS).write_text(yaml.safe_dump(pinned, sort_keys=False))
    main = Checkout(candidate.scenario, root, None, candidate.id)
    return Workspace(src_root, main, tuple(checkouts), "", {c.project: c for c in checkouts})


async def check_out_component(
    component: CandidateComponent, root: Path, sources: Sources
) -> Checkout:
    """`root/<component>` detached at its commit, fetched only when its mirror does not
    hold that commit yet."""
    need = Need({component.sha: None})
    if component.git_url is not None:
        git = sources.git_for(None)
        url, public = component.git_url, component.git_url
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        try:
            mirror = await sources.mirrors.ensure(git, PLAIN_GIT, f"url-{digest}", url, need)
        except GitError as error:
            raise fetch_failure(error, f"component {component.name}", url) from error
    else:
        connection, project = component.connection or "", component.project or ""
        if component.connection not in sources.remotes or component.project is None:
            raise GitError(
                f"component {component.name} is on connection {component.connection!r}, "
                "which is not configured"
            )
        git = sources.git_for(connection)
        public = sources.remote(connection).public_url(project)
        mirror = await sources.mirror(connection, project, need)
    if "/" in component.name or component.name in (".", "..", PINNED_VERSIONS):
        # The configuration refuses these names; a stored candidate is read back as is.
        raise GitError(f"component name {component.name!r} cannot name a directory here")
    target = root / component.name
    await clone_mirror(git, mirror, target, shared=sources.shared)
    try:
        await git.run("checkout", "--quiet", "--detach", component.sha, cwd=target)
    except GitError as error:
        raise GitError(
            f"component {component.name} has no commit {component.sha} (force-pushed away?)",
            error.returncode,
            error.stderr,
        ) from error
    # Changes are fetched from the mirror itself, so `origin` may name the public URL now.
    await git.run("remote", "set-url", "origin", secret_free(public), cwd=target)
    return Checkout(component.name, target, None, component.sha)
