"""Projects: which jobs run in which pipeline for which Gerrit projects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from crosscheck.model.job import Job


@dataclass(frozen=True)
class Project:
    """A Gerrit project named exactly, or every project a regex (starting with ^) matches."""

    name: str
    pipelines: Mapping[str, tuple[Job, ...]] = field(default_factory=dict)
    connection: str | None = None

    @property
    def is_regex(self) -> bool:
        return self.name.startswith("^")

    def matches(self, project: str) -> bool:
        if self.is_regex:
            return re.match(self.name, project) is not None
        return project == self.name
