"""A build's environment, built from scratch: nothing of the service's leaks in.

Layers, later ones winning: a minimal base (PATH, HOME in the work directory,
LANG, ...), the Jenkins Gerrit Trigger variables (so jobs migrating from Jenkins
keep working), the job's `env`, then the CROSSCHECK_* variables, which the job
cannot override because the executor relies on them (the artifacts directory).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from crosscheck.executor.candidate_workspace import PINNED_VERSIONS
from crosscheck.model.build import BuildRequest, patchset_ref
from crosscheck.model.events import Account, Event, version_variable

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class BuildPaths:
    """Where things are, as the steps see them on the node."""

    run_dir: PurePosixPath
    #: The change's project checkout: where steps start.
    workspace: PurePosixPath
    src_root: PurePosixPath
    home: PurePosixPath
    tmp: PurePosixPath
    artifacts: PurePosixPath

    @classmethod
    def under(cls, run_dir: PurePosixPath, project: str) -> BuildPaths:
        src = run_dir / "src"
        return cls(
            run_dir=run_dir,
            workspace=src.joinpath(*project.split("/")),
            src_root=src,
            home=run_dir / "home",
            tmp=run_dir / "tmp",
            artifacts=run_dir / "artifacts",
        )


def build_environment(
    request: BuildRequest,
    paths: BuildPaths,
    *,
    node: str,
    log_url: str,
    commit_message: str = "",
) -> dict[str, str]:
    env = base_environment(paths)
    env.update(gerrit_variables(request, commit_message))
    env.update(request.job.env)
    env.update(crosscheck_variables(request, paths, node=node, log_url=log_url))
    env.update(candidate_variables(request, paths))
    return env


def candidate_variables(request: BuildRequest, paths: BuildPaths) -> dict[str, str]:
    """A candidate's build, or a change's in a scenario: which scenario and candidate,
    and each component's commit (`CROSSCHECK_VERSION_<COMPONENT>`, the name upper-cased,
    other than A-Z 0-9 as `_`; a changed component's is its version before the merge)."""
    candidate, versions = request.event.candidate, request.scenario
    taken: str | None
    level: str | None
    if candidate is not None:
        scenario, taken, level = candidate.scenario, candidate.id, candidate.level
        components = candidate.components
    elif versions is not None:
        scenario, taken, level = versions.scenario, versions.candidate, versions.level
        components = versions.components
    else:
        return {}
    env = {
        "CROSSCHECK_SCENARIO": scenario,
        **({"CROSSCHECK_CANDIDATE": taken} if taken else {}),
        **({"CROSSCHECK_LEVEL": level} if level else {}),
        "CROSSCHECK_PINNED_VERSIONS": str(paths.workspace / PINNED_VERSIONS),
    }
    for component in components:
        env[version_variable(component.name)] = component.sha
    return env


def base_environment(paths: BuildPaths) -> dict[str, str]:
    user = getpass.getuser()
    return {
        "PATH": SAFE_PATH,
        "HOME": str(paths.home),
        "TMPDIR": str(paths.tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "SHELL": "/bin/bash",
        "TERM": "dumb",
        "USER": user,
        "LOGNAME": user,
        "CI": "true",
        "WORKSPACE": str(paths.workspace),  # Jenkins' name for it
    }


def crosscheck_variables(
    request: BuildRequest, paths: BuildPaths, *, node: str, log_url: str
) -> dict[str, str]:
    return {
        "CROSSCHECK_BUILD_ID": request.build_id,
        "CROSSCHECK_ATTEMPT": str(request.attempt),
        "CROSSCHECK_JOB": request.job.name,
        "CROSSCHECK_PIPELINE": request.pipeline,
        "CROSSCHECK_NODE": node,
        "CROSSCHECK_WORKSPACE": str(paths.workspace),
        "CROSSCHECK_SRC_ROOT": str(paths.src_root),
        "CROSSCHECK_ARTIFACTS": str(paths.artifacts),
        "CROSSCHECK_LOG_URL": log_url,
    }


def gerrit_variables(request: BuildRequest, commit_message: str = "") -> dict[str, str]:
    """The variables Jenkins' Gerrit Trigger sets, for the event that triggered the build."""
    event, connection = request.event, request.connection
    if connection is None:  # a candidate's build: no Gerrit event behind it
        return {}
    env = {
        "GERRIT_NAME": connection.name,
        "GERRIT_HOST": connection.host,
        "GERRIT_PORT": str(connection.ssh_port),
        "GERRIT_SCHEME": "ssh",
        "GERRIT_EVENT_TYPE": str(event.type),
        "GERRIT_EVENT_HASH": hashlib.sha1(event.key.encode(), usedforsecurity=False).hexdigest()[
            :12
        ],
        "GERRIT_PROJECT": request.project,
    }
    if "gerrit_version" in event.extra:
        env["GERRIT_VERSION"] = event.extra["gerrit_version"]
    env.update(_account("GERRIT_EVENT_ACCOUNT", event.account))
    if event.comment is not None:
        env["GERRIT_EVENT_COMMENT_TEXT"] = _b64(event.comment)
    env.update(_change_variables(event, commit_message))
    if event.ref_update is not None:
        update = event.ref_update
        env.update(
            GERRIT_REFNAME=update.ref, GERRIT_OLDREV=update.old_rev, GERRIT_NEWREV=update.new_rev
        )
    if event.timer is not None:
        # A branch tip, as Gerrit Trigger describes a branch: no change, no refspec.
        env.update(GERRIT_BRANCH=event.timer.branch, GERRIT_REFNAME=event.timer.ref)
    return env


def _change_variables(event: Event, commit_message: str) -> dict[str, str]:
    change, patchset = event.change, event.patchset
    if change is None:
        return {}
    env = {
        "GERRIT_BRANCH": change.branch,
        "GERRIT_TOPIC": change.topic or "",
        "GERRIT_CHANGE_ID": change.change_id,
        "GERRIT_CHANGE_NUMBER": str(change.number),
        "GERRIT_CHANGE_URL": change.url,
        "GERRIT_CHANGE_SUBJECT": change.subject,
        "GERRIT_CHANGE_COMMIT_MESSAGE": _b64(change.commit_message or commit_message),
        "GERRIT_CHANGE_WIP_STATE": str(change.wip).lower(),
        "GERRIT_CHANGE_PRIVATE_STATE": str(change.private).lower(),
        "GERRIT_HASHTAGS": ",".join(change.hashtags),
        **_account("GERRIT_CHANGE_OWNER", change.owner),
    }
    if patchset is not None:
        env.update(
            GERRIT_PATCHSET_NUMBER=str(patchset.number),
            GERRIT_PATCHSET_REVISION=patchset.revision,
            GERRIT_REFSPEC=patchset_ref(change.number, patchset),
            **_account("GERRIT_PATCHSET_UPLOADER", patchset.uploader),
        )
    return env


def _account(prefix: str, account: Account | None) -> Mapping[str, str]:
    if account is None:
        return {}
    name, email = account.name or "", account.email or ""
    whole = f'"{name}" <{email}>' if name and email else name or email
    return {
        prefix: whole,
        f"{prefix}_NAME": name,
        f"{prefix}_EMAIL": email,
        f"{prefix}_USERNAME": account.username or "",
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
