"""Jinja2 with autoescaping everywhere, the pages' filters, and responses with safe headers.

Jinja2 and the templates load with the first page served: an idle serve, or one whose
pages nobody reads, holds neither (about 2 MiB).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from crosscheck.model.results import ResultValue
from crosscheck.web.health import sort_href, sort_state
from crosscheck.web.plot import sparkline

if TYPE_CHECKING:
    from jinja2 import Environment

#: No script may run on these pages, whatever a result holds; styles are inline.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

LABELS = {value: value.value.replace("_", " ") for value in ResultValue}


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _percent(rate: float | None) -> str:
    return "\u2013" if rate is None else f"{rate:.0%}"


def _segment(text: str) -> str:
    """A CI account name as one URL path segment."""
    return quote(text, safe="")


class Renderer:
    """`templates_of` names another package whose `templates/` may extend these.
    `filters` and `globals` may be added to until the first page is rendered."""

    def __init__(self, prefix: str = "", templates_of: str | None = None) -> None:
        self._templates_of = templates_of
        self.filters: dict[str, Callable[..., Any]] = {
            "when": _when,
            "percent": _percent,
            "segment": _segment,
        }
        self.globals: dict[str, Any] = {
            "prefix": prefix,
            "labels": LABELS,
            "sparkline": sparkline,
            "sort_href": sort_href,
            "sort_state": sort_state,
        }
        self._environment: Environment | None = None

    @property
    def environment(self) -> Environment:
        if self._environment is None:
            self._environment = _environment(self._templates_of)
            self._environment.filters.update(self.filters)
            self._environment.globals.update(self.globals)
        return self._environment

    def macro(self, template: str, name: str) -> Callable[..., Markup]:
        """A macro of `template`, to call from Python (its output is escaped already)."""
        found: Callable[..., Markup] = getattr(self.environment.get_template(template).module, name)
        return found

    def render(self, name: str, **context: Any) -> str:
        return self.environment.get_template(name).render(**context)

    def page(
        self, name: str, json_url: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        body = self.render(name, json_url=json_url, **context)
        return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)

    def not_found(self, message: str, json_url: str) -> HTMLResponse:
        return self.error(404, "Not found", message, json_url)

    def error(self, status_code: int, title: str, message: str, json_url: str) -> HTMLResponse:
        return self.page(
            "error.html", json_url, status_code=status_code, title=title, message=message
        )

    def svg(self, **context: Any) -> Response:
        body = self.render("success.svg", **context)
        return Response(body, media_type="image/svg+xml", headers=SECURITY_HEADERS)


def _environment(templates_of: str | None) -> Environment:
    from jinja2 import (  # noqa: PLC0415 -- with the first page
        BaseLoader,
        ChoiceLoader,
        Environment,
        PackageLoader,
        StrictUndefined,
    )

    loaders: list[BaseLoader] = [PackageLoader("crosscheck.web", "templates")]
    if templates_of is not None:
        loaders.insert(0, PackageLoader(templates_of, "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        # Every template, the SVG included: nothing reaches a page unescaped.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
