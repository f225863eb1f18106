"""Where a build's logs go, relative to the logs root: stable and predictable.

    <change % 100>/<change>/<patchset>/<pipeline>/<job>/<build_id>/   a patchset's builds
    refs/<project>/<ref>/<rev[:12]>/<pipeline>/<job>/<build_id>/      a ref's (post)
    projects/<project>/<pipeline>/<job>/<build_id>/                     a project's (periodic)

The two-digit first level keeps directories small, as Gerrit's own refs do. Every
name is one path component: a `/` in a job or pipeline name is quoted, and the
URL form quotes once more (the `%` of `%2F`), so a URL maps back to exactly one path.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote

from crosscheck.model.build import BuildRequest


def component(name: str) -> str:
    """One path component for any name: no `/`, never `.` or `..`."""
    quoted = quote(name, safe=" +=,@-_")
    return quoted if quoted not in ("", ".", "..") else quoted.replace(".", "%2E") or "_"


def log_path(request: BuildRequest) -> PurePosixPath:
    event = request.event
    tail = (component(request.pipeline), component(request.job.name), request.build_id)
    if event.change is not None and event.patchset is not None:
        number = event.change.number
        return PurePosixPath(f"{number % 100:02d}", str(number), str(event.patchset.number), *tail)
    project = _project_parts(request.project)
    if event.ref_update is not None:
        update = event.ref_update
        ref = update.ref.removeprefix("refs/heads/")
        return PurePosixPath("refs", *project, component(ref), update.new_rev[:12], *tail)
    return PurePosixPath("projects", *project, *tail)


def log_url(path: PurePosixPath) -> str:
    """The URL path of a log directory relative to `/logs/`, ending in '/'."""
    return "/".join(quote(part, safe="") for part in path.parts) + "/"


def served_log_url(logs_url: str, log_url: str | None) -> str | None:
    """A build's `log_url` under the address its logs are served at (`logs_url`, no
    trailing '/'); as recorded when either is empty."""
    return f"{logs_url}/{log_url}" if log_url and logs_url else log_url


def _project_parts(project: str) -> tuple[str, ...]:
    return tuple(component(part) for part in project.split("/") if part)
