"""A Gerrit connection's projects, branches and tags over REST, for the timer and promotion.

Projects are listed whole and in pages (`n`, `S`), never filtered with Gerrit's
`r=` parameter: Gerrit matches that regular expression against the whole name in
its own dialect, while a configured `^regex` is Python's, matched from the start
(`^sandbox/` matches `sandbox/a`; `r=sandbox/` matches nothing). The caller
filters with the configuration's own rule, so a project pattern means one thing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from crosscheck.drivers.base import DriverError
from crosscheck.drivers.gerrit.errors import (
    GerritConflictError,
    GerritHttpError,
    GerritNotFoundError,
)
from crosscheck.drivers.gerrit.rest import GerritRestClient, project_id

#: Projects per page when listing a connection's projects.
PAGE = 500
BRANCH_PREFIX = "refs/heads/"
#: What Gerrit answers for a commit id it cannot parse or place.
UNPROCESSABLE = 422


class GerritProjects:
    """The `ProjectSource` of one Gerrit connection."""

    def __init__(self, rest: GerritRestClient, page: int = PAGE) -> None:
        self.rest = rest
        self.page = page

    async def projects(self) -> list[str]:
        names: list[str] = []
        while True:
            listing: dict[str, Any] = await self.rest.get(
                "/projects/", params={"n": self.page, "S": len(names)}
            )
            names.extend(listing)
            last = list(listing.values())[-1] if listing else {}
            if not last.get("_more_projects"):
                return names

    async def head_branch(self, project: str) -> str:
        ref = await self.rest.get(f"/projects/{project_id(project)}/HEAD")
        return str(ref).removeprefix(BRANCH_PREFIX)

    async def branches(self, project: str) -> list[str]:
        listing = await self.rest.get(f"/projects/{project_id(project)}/branches/")
        return [
            branch["ref"].removeprefix(BRANCH_PREFIX)
            for branch in listing
            if str(branch.get("ref", "")).startswith(BRANCH_PREFIX)
        ]

    async def commit_of(self, project: str, kind: str, ref: str) -> str:
        """The commit of a branch's tip (`kind` "branch") or a tag ("tag"), as a RefSource.

        An annotated tag's own object is not a commit: Gerrit names the commit it
        points to as `object`, beside the tag object's id as `revision`.
        """
        what = "branches" if kind == "branch" else "tags"
        found = await self.rest.get(f"/projects/{project_id(project)}/{what}/{quote(ref, safe='')}")
        return str(found.get("object") or found["revision"])

    async def has_commit(self, project: str, sha: str) -> bool:
        """Whether the project has the commit (Gerrit's commit endpoint), as a RefSource."""
        try:
            await self.rest.get(f"/projects/{project_id(project)}/commits/{sha}")
        except GerritNotFoundError:
            return False
        except GerritHttpError as error:
            if error.status_code == UNPROCESSABLE:
                return False
            raise
        return True

    async def create_tag(self, project: str, name: str, sha: str, message: str) -> None:
        """An annotated tag, as a Tagger: needs Create Reference and Create Annotated Tag
        on refs/tags/* for the CI account."""
        path = f"/projects/{project_id(project)}/tags/{quote(name, safe='')}"
        try:
            await self.rest.put(path, {"revision": sha, "message": message})
        except GerritConflictError:
            existing = await self.commit_of(project, "tag", name)
            if existing != sha:
                raise DriverError(
                    f"{project} has a tag {name} already, at {existing[:12]}, not {sha[:12]}"
                ) from None
