"""The health table's sorting and filtering: query parameters in, rows in order out.

Server-side, so the table sorts and filters with plain links and a GET form: the
pages run no script at all (their Content-Security-Policy forbids it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from crosscheck.web.views import HealthQuery, HealthRow

#: Sort keys by column name; None sorts last in either order.
SORT_KEYS: Mapping[str, Callable[[HealthRow], Any]] = {
    "status": lambda row: 0 if row.flagged else 1 if row.enabled else 2,
    "driver": lambda row: row.driver.casefold() or None,
    "account": lambda row: row.account.casefold(),
    "projects": lambda row: row.project_count,
    "results": lambda row: row.results_30d,
    "success": lambda row: row.success_30d,
    "votes": lambda row: row.merged_votes,
    "merged_success": lambda row: row.merged_success,
    "latest": lambda row: row.latest.reported_at if row.latest else None,
    "owner": lambda row: row.owner.casefold() or None,
}
ORDERS = ("asc", "desc")
#: `flagged` as a checkbox sends it: 1 keeps only flagged accounts, 0 (or none) every one.
FLAGGED_VALUES = ("0", "1")
#: Longer filters cannot match an account (names, drivers, owners have at most 200).
MAX_FILTER = 300


class HealthQueryError(ValueError):
    """A query parameter the table does not understand; the message names it and the choices."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def parse_health_query(
    sort: str | None = None,
    order: str | None = None,
    q: str | None = None,
    project: str | None = None,
    flagged: str | None = None,
) -> HealthQuery:
    """The query a page's parameters describe; absent or empty ones take their default."""
    return HealthQuery(
        sort=_choice("sort", sort, tuple(SORT_KEYS)) or "status",
        order=_choice("order", order, ORDERS) or "asc",
        text=_filter("q", q),
        project=_filter("project", project),
        flagged=_choice("flagged", flagged, FLAGGED_VALUES) == "1",
    )


def _choice(parameter: str, value: str | None, choices: Sequence[str]) -> str | None:
    if not value:
        return None
    if value not in choices:
        raise HealthQueryError(
            parameter, f"{value[:100]!r} is not one of the accepted values: {', '.join(choices)}"
        )
    return value


def _filter(parameter: str, value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_FILTER:
        raise HealthQueryError(parameter, f"is longer than {MAX_FILTER} characters")
    return text


def select_rows(rows: Sequence[HealthRow], query: HealthQuery) -> list[HealthRow]:
    """The rows the query keeps, in its order; ties by account name, missing values last."""
    kept = [row for row in rows if _keeps(row, query)]
    kept.sort(key=lambda row: row.account.casefold())
    key = SORT_KEYS[query.sort]
    present = [row for row in kept if key(row) is not None]
    missing = [row for row in kept if key(row) is None]
    # Python's sort is stable, reversed too: ties stay in name order.
    present.sort(key=key, reverse=query.order == "desc")
    return present + missing


def _keeps(row: HealthRow, query: HealthQuery) -> bool:
    if query.flagged and not row.flagged:
        return False
    if query.text:
        wanted = query.text.casefold()
        fields = (row.account, row.driver, row.owner)
        if not any(wanted in field.casefold() for field in fields):
            return False
    if query.project:
        wanted = query.project.casefold()
        return any(wanted in project.casefold() for project in row.projects)
    return True


def sort_href(query: HealthQuery, column: str) -> str:
    """A header's link: sort by `column`, ascending first, the other way when sorted by it
    already; the filters kept."""
    order = "desc" if query.sort == column and query.order == "asc" else "asc"
    return "?" + urlencode(_parameters(query) | {"sort": column, "order": order})


def sort_state(query: HealthQuery, column: str) -> str:
    """`aria-sort` of a header: ascending, descending or none."""
    if query.sort != column:
        return "none"
    return "ascending" if query.order == "asc" else "descending"


def _parameters(query: HealthQuery) -> dict[str, str]:
    found = {"q": query.text, "project": query.project, "flagged": "1" if query.flagged else ""}
    return {name: value for name, value in found.items() if value}
