"""The health table's query parameters, filters, order and links; its extra columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from crosscheck.model.results import (
    AccountStatistics,
    CIAccount,
    Result,
    ResultValue,
    WindowCounts,
)
from crosscheck.results.merges import MergedVotes
from crosscheck.web.health import (
    SORT_KEYS,
    HealthQueryError,
    parse_health_query,
    select_rows,
    sort_href,
    sort_state,
)
from crosscheck.web.views import (
    LISTED_PROJECTS,
    HealthExtras,
    HealthQuery,
    HealthRow,
    health_page,
    health_row,
)

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def row(account: str, **fields: object) -> HealthRow:
    base = HealthRow(
        account=account,
        enabled=True,
        results_24h=0,
        results_7d=0,
        results_30d=0,
        success_24h=None,
        success_7d=None,
        success_30d=None,
        last_seen=NOW,
        last_success=None,
        silent=False,
        low_success=False,
    )
    projects = fields.get("projects")
    if isinstance(projects, list) and "project_count" not in fields:
        fields["project_count"] = len(projects)  # as the page's rows have it
    return replace(base, **fields)  # type: ignore[arg-type]


ROWS = [
    row("beta CI", driver="Zeta driver", owner="Acme", projects=["openstack/nova"]),
    row("Alpha CI", driver="", owner="", silent=True, projects=[]),
    row("gamma CI", driver="Acme NFS", owner="Gamma Inc", projects=["openstack/cinder", "x/y"]),
    row("Delta CI", enabled=False, results_30d=9, success_30d=0.5),
]


def names(rows: list[HealthRow]) -> list[str]:
    return [r.account for r in rows]


def test_the_default_order_is_flagged_first_then_by_name() -> None:
    shown = select_rows(ROWS, parse_health_query())
    assert names(shown) == ["Alpha CI", "beta CI", "gamma CI", "Delta CI"]


def test_text_columns_sort_either_way_with_empty_values_last() -> None:
    ascending = select_rows(ROWS, HealthQuery(sort="driver"))
    assert names(ascending) == ["gamma CI", "beta CI", "Alpha CI", "Delta CI"]
    descending = select_rows(ROWS, HealthQuery(sort="driver", order="desc"))
    assert names(descending) == ["beta CI", "gamma CI", "Alpha CI", "Delta CI"]


def test_numbers_sort_with_missing_rates_last() -> None:
    shown = select_rows(ROWS, HealthQuery(sort="success", order="desc"))
    assert names(shown)[0] == "Delta CI"
    assert names(select_rows(ROWS, HealthQuery(sort="projects", order="desc")))[0] == "gamma CI"


@pytest.mark.parametrize("column", list(SORT_KEYS))
def test_every_column_sorts(column: str) -> None:
    for order in ("asc", "desc"):
        shown = select_rows(ROWS, HealthQuery(sort=column, order=order))
        assert sorted(names(shown)) == sorted(names(ROWS))


def test_the_text_filter_reads_name_driver_and_owner_in_any_case() -> None:
    assert names(select_rows(ROWS, HealthQuery(text="acme"))) == ["beta CI", "gamma CI"]
    assert names(select_rows(ROWS, HealthQuery(text="ALPHA"))) == ["Alpha CI"]
    assert select_rows(ROWS, HealthQuery(text="nobody")) == []


def test_the_project_filter_keeps_accounts_that_covered_it() -> None:
    assert names(select_rows(ROWS, HealthQuery(project="openstack/"))) == ["beta CI", "gamma CI"]
    assert names(select_rows(ROWS, HealthQuery(project="CINDER"))) == ["gamma CI"]


def test_only_flagged() -> None:
    assert names(select_rows(ROWS, parse_health_query(flagged="1"))) == ["Alpha CI"]
    assert len(select_rows(ROWS, parse_health_query(flagged="0"))) == 4


@pytest.mark.parametrize(
    ("parameters", "named", "says"),
    [
        ({"sort": "name"}, "sort", "driver, account, projects"),
        ({"order": "up"}, "order", "asc, desc"),
        ({"flagged": "yes"}, "flagged", "0, 1"),
        ({"q": "x" * 301}, "q", "longer than 300"),
        ({"project": "p" * 301}, "project", "longer than 300"),
    ],
)
def test_a_bad_parameter_is_named_with_what_is_accepted(
    parameters: dict[str, str], named: str, says: str
) -> None:
    with pytest.raises(HealthQueryError) as raised:
        parse_health_query(**parameters)
    assert raised.value.parameter == named
    assert says in str(raised.value)
    assert str(raised.value).startswith(f"{named}: ")


def test_empty_parameters_take_their_defaults() -> None:
    assert parse_health_query("", "", "  ", "", "") == HealthQuery()


def test_a_header_link_toggles_its_order_and_keeps_the_filters() -> None:
    query = HealthQuery(sort="driver", order="asc", text="a&b", project="p", flagged=True)
    again = parse_qs(sort_href(query, "driver").removeprefix("?"))
    assert again == {
        "sort": ["driver"],
        "order": ["desc"],
        "q": ["a&b"],
        "project": ["p"],
        "flagged": ["1"],
    }
    other = parse_qs(sort_href(query, "owner").removeprefix("?"))
    assert other["order"] == ["asc"]
    assert sort_state(query, "driver") == "ascending"
    assert sort_state(query, "owner") == "none"


def stats(name: str) -> AccountStatistics:
    window = WindowCounts({ResultValue.PASSED: 1})
    return AccountStatistics(name, {"24h": window, "7d": window, "30d": window}, NOW, NOW)


def run(**fields: Any) -> Result:
    """A stored result, as the latest-run column gets it."""
    base: dict[str, Any] = {
        "id": 1, "uuid": "u", "account": "CI", "project": "p", "change": 1, "patchset": 1,
        "job": "j", "value": ResultValue.PASSED, "reported_at": NOW,
    }  # fmt: skip
    return Result(**(base | fields))


def test_a_row_carries_driver_contact_projects_votes_and_latest_run() -> None:
    account = CIAccount("Acme CI", owner="Acme", driver="Acme NFS", contact="ci@acme.example")
    latest = run(
        account="Acme CI",
        change=42,
        patchset=3,
        job="tempest",
        value=ResultValue.FAILED,
        reported_at=NOW - timedelta(hours=1),
        url="https://logs.example/42",
    )
    extras = HealthExtras(
        account=account,
        projects=["b", "a"],
        merged=MergedVotes(4, 3),
        latest=latest,
        gerrit_base="https://review.example/",
    )
    found = health_row(stats("Acme CI"), NOW, extras)
    assert (found.driver, found.owner, found.contact) == ("Acme NFS", "Acme", "ci@acme.example")
    assert found.contact_url == "mailto:ci@acme.example"
    assert found.projects == ["a", "b"]
    assert (found.merged_votes, found.merged_passed, found.merged_success) == (4, 3, 0.75)
    assert found.latest is not None
    assert found.latest.url == "https://logs.example/42"
    assert found.latest.gerrit_url == "https://review.example/c/42"


@pytest.mark.parametrize(
    ("contact", "link"),
    [
        ("https://acme.example/ci", "https://acme.example/ci"),
        ("ci@acme.example", "mailto:ci@acme.example"),
        ("javascript:alert(1)", None),
        ('x@y.z"><script>', None),
        ("Call Bob", None),
        ("", None),
    ],
)
def test_only_addresses_and_web_urls_become_contact_links(contact: str, link: str | None) -> None:
    account = CIAccount("CI", contact=contact)
    found = health_row(stats("CI"), NOW, HealthExtras(account=account))
    assert found.contact_url == link
    assert found.contact == contact


def test_a_run_whose_url_is_not_a_web_address_is_not_linked() -> None:
    latest = run(url="javascript:alert(1)")
    found = health_row(stats("CI"), NOW, HealthExtras(account=CIAccount("CI"), latest=latest))
    assert found.latest is not None
    assert found.latest.url is None
    assert found.latest.gerrit_url is None  # no Gerrit address configured


def test_a_ci_covering_many_projects_lists_a_few_and_counts_them_all() -> None:
    many = [f"openstack/p{n:03d}" for n in range(200)]
    full = row("Big CI", projects=many, project_count=len(many))
    page = health_page([full], NOW, HealthQuery(project="p150"), [full])
    (shown,) = page.rows
    assert shown.project_count == 200
    assert len(shown.projects) == LISTED_PROJECTS
    assert shown.projects[0] == "openstack/p150"  # the filter's match comes first
    assert "openstack/p199" in page.projects  # the filter's suggestions have them all
    by_count = select_rows([row("Few CI", project_count=2), full], HealthQuery(sort="projects"))
    assert [r.account for r in by_count] == ["Few CI", "Big CI"]
