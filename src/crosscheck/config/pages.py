"""What the results service's pages and Gerrit's Checks tab need beyond the store:
expected CIs per project, Gerrit's address, the Gerrit origins whose pages may read the
API, each CI's rerun comment.

A results service runs without crosscheck's CI configuration (an upstream community
runs only this), so the pages read a small YAML file of their own. It lives in config/
so that `crosscheck config check` reads the file `- results: {pages: ...}` names, as
serve will:

    gerrit-url: https://review.example.org
    gerrit-origins: [https://review.example.org]   # CORS; gerrit-url's origin by default
    expected-cis:
      openstack/nova: [Acme CI, Zuul]
      "openstack/*": [Zuul]
    rerun-comments:
      Acme CI: recheck acme
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crosscheck.errors import CrosscheckError
from crosscheck.model.account_text import info_url_problem
from crosscheck.model.checks import parse_origins, parse_rerun_comments
from crosscheck.model.expected import ExpectedCIs, parse_expected_cis

_KEYS = ("gerrit-url", "gerrit-origins", "expected-cis", "rerun-comments")


class PagesSettingsError(CrosscheckError):
    """The pages' settings file is unreadable or malformed; the message says where."""


@dataclass(frozen=True)
class SnapshotPolicy:
    """When the health table's snapshot is rechecked against the store, when one the
    store moved past is no longer served, and when none is, in seconds
    (web/snapshots.py says how)."""

    recheck_after: float = 5.0
    refresh_after: float = 60.0
    max_age: float = 600.0

    def __post_init__(self) -> None:
        if not 0 <= self.recheck_after <= self.refresh_after <= self.max_age:
            raise ValueError(
                "a snapshot policy needs 0 <= recheck_after <= refresh_after <= max_age, "
                f"not {self.recheck_after}, {self.refresh_after}, {self.max_age}"
            )


#: Every read taken afresh: for tests that write and read back at once.
NO_SNAPSHOTS = SnapshotPolicy(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PagesSettings:
    expected_cis: ExpectedCIs = field(default_factory=ExpectedCIs)
    #: Change numbers link to `<gerrit_url>/c/<number>` when set.
    gerrit_url: str | None = None
    #: Origins (`https://host[:port]`) whose pages may read the API from a browser (CORS).
    gerrit_origins: tuple[str, ...] = ()
    #: The comment that asks each CI account to run again, for the Checks tab's Rerun.
    rerun_comments: Mapping[str, str] = field(default_factory=dict)
    #: Results per page of a CI account's history.
    page_size: int = 50
    #: Days the success-rate plot covers unless a page asks for others.
    plot_days: int = 30
    #: How long the health table's figures are served before they are read again.
    health_snapshots: SnapshotPolicy = field(default_factory=SnapshotPolicy)


def load_pages_settings(path: Path) -> PagesSettings:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise PagesSettingsError(f"{path}: cannot read the pages' settings: {error}") from error
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise PagesSettingsError(f"{path}: expected a mapping with keys {', '.join(_KEYS)}")
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        raise PagesSettingsError(
            f"{path}: unknown key(s) {', '.join(unknown)}: the keys are {', '.join(_KEYS)}"
        )
    gerrit_url = data.get("gerrit-url")
    if gerrit_url is not None and (
        not isinstance(gerrit_url, str) or not gerrit_url or info_url_problem(gerrit_url)
    ):
        raise PagesSettingsError(
            f"{path}: gerrit-url must be an http:// or https:// address, not {gerrit_url!r}"
        )
    try:
        expected = parse_expected_cis(data.get("expected-cis"))
        origins = parse_origins(data.get("gerrit-origins"), gerrit_url)
        rerun = parse_rerun_comments(data.get("rerun-comments"))
    except ValueError as error:
        raise PagesSettingsError(f"{path}: {error}") from error
    return PagesSettings(
        expected_cis=expected, gerrit_url=gerrit_url, gerrit_origins=origins, rerun_comments=rerun
    )
