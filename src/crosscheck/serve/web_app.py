"""`crosscheck serve`'s one web app: the webhooks, build logs under /logs/, /metrics,
the operator API, and the results service with its pages on the same store.

Every request goes through the access log (webhook tokens masked), and every error
answers `{"detail", "errors"}` (http/errors.py) whichever parts are mounted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck import __version__
from crosscheck.config.secrets import TokenSource, admin_token, webhook_token
from crosscheck.console.hub import ConsoleHub
from crosscheck.console.router import console_router
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.webhook import webhook_router
from crosscheck.executor.pool import NodePool
from crosscheck.http.access_log import AccessLog
from crosscheck.http.body_limit import BodyLimit
from crosscheck.http.errors import install_error_handlers
from crosscheck.http.head_requests import HeadAsGet
from crosscheck.http.metrics_endpoint import metrics_router
from crosscheck.logs import logs_router
from crosscheck.model.checks import origin_of
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.pipeline import GerritTrigger
from crosscheck.nodes.api import nodes_router
from crosscheck.nodes.page import nodes_page
from crosscheck.operator.router import operator_router
from crosscheck.promotion.api import promotion_router, releases_router
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.promotion.pages import promotion_pages
from crosscheck.results.app import documented
from crosscheck.results.auth import Authenticator, auth_dependencies
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.resolver import resolver_for
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import check_tokens, settings_from_config
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.serve.queue_depths import QueueDepths
from crosscheck.serve.results_app import allow_gerrit_origins, results_and_pages
from crosscheck.web import PagesSettings, load_pages_settings

#: A webhook's URL holds its token (Gerrit's plugin can send no header): masked in the
#: access log.
WEBHOOK_TOKEN_PATH = re.compile(r"^(/webhooks/gerrit/[^/]+/)[^/]+")
#: Any other path with a `webhook(s)` segment, in any case and with any slashes, is
#: masked whole after it: a plugin configured with a stray slash or a typo still sends
#: its token in the path (the route answers 404, and the log must not show it).
WEBHOOK_ODD_PATH = re.compile(r"(?i)^(?!/webhooks/gerrit/[^/]+/\*\*\*$)(.*?/webhooks?/).+$")
WEBHOOK_PATHS = (WEBHOOK_TOKEN_PATH, WEBHOOK_ODD_PATH)


def web_app(
    config: Config,
    engine: AsyncEngine,
    sources: Mapping[str, GerritEventSource],
    logs_root: Path,
    admin_token_source: TokenSource | None = None,
    *,
    current_config: Callable[[], Config] | None = None,
    lookup: GerritRestClient | None = None,
    scheduler: Scheduler | None = None,
    promotion: PromotionEngine | None = None,
    console_hub: ConsoleHub | None = None,
    nodes: NodePool | None = None,
    public_url: str | None = None,
) -> FastAPI:
    """Webhooks, build logs, /metrics, the results service when it is served here, and
    the operator API on `scheduler` when one is given, the nodes API and /nodes on `nodes`.

    The results service's admin token is read at each request from `admin_token_source`
    (by default the `ci` element of `config`), as the operator API reads its own.
    `current_config` (by default `config`) names the pipelines and connections whose
    queue depths /metrics shows at 0 when empty. `lookup` lets verify-status place a
    change no result named yet by asking that Gerrit. Builds' consoles are served from
    the store and `logs_root`; `console_hub` (the executor's) wakes their followers at
    each line, without it they poll. `public_url` is the address written into the Checks
    tab plugin (else the request's own).
    """
    app = FastAPI(
        title="crosscheck",
        version=__version__,
        description="A third-party CI for Gerrit: webhooks, build logs, CI results.",
    )
    app.add_middleware(HeadAsGet)  # inside the access log, which logs HEAD as HEAD
    app.add_middleware(AccessLog, secret_paths=WEBHOOK_PATHS)
    app.add_middleware(BodyLimit)
    depths = QueueDepths(engine, current_config or (lambda: config))
    app.include_router(metrics_router(depths.refresh))
    app.include_router(webhook_router(sources, _webhook_tokens(config.connections.values())))
    app.include_router(logs_router(logs_root))
    app.include_router(console_router(engine, logs_root, console_hub or ConsoleHub()))
    if config.results.serve:
        token = admin_token_source or (lambda: admin_token(config.ci))
        mounted = MountOptions(token, lookup, promotion, public_url)
        _mount_results(app, config, engine, mounted)
    if scheduler is not None:
        app.include_router(operator_router(scheduler, nodes))
    if nodes is not None:  # public reads and admin writes, as the operator API
        nodes_token = admin_token_source or (lambda: admin_token(config.ci))
        app.include_router(nodes_router(nodes, nodes_token, current_config or (lambda: config)))
        app.include_router(nodes_page(nodes))
    # In every configuration, so the operator API's malformed requests are answered
    # alike, with the located `errors` its clients read.
    install_error_handlers(app)
    return app


@dataclass(frozen=True)
class MountOptions:
    admin_token_source: TokenSource
    lookup: GerritRestClient | None
    promotion: PromotionEngine | None
    #: The address links and the Checks tab plugin name (serve's --public-url).
    public_url: str | None


def _mount_results(
    app: FastAPI, config: Config, engine: AsyncEngine, options: MountOptions
) -> None:
    limiter = RateLimiter(config.results.rate, config.results.burst)
    settings = settings_from_config(config.results, options.admin_token_source)
    check_tokens(settings)  # a read token unreadable or shared stops serve with why
    # Read now: a mistake in the pages' file stops serve with the file named.
    pages = load_pages_settings(config.results.pages) if config.results.pages else PagesSettings()
    pages = with_own_gerrits(with_own_rerun(pages, config), config)
    allow_gerrit_origins(app, pages)
    service = ResultsService(engine, limiter=limiter, max_age=settings.max_result_age)
    resolver = resolver_for(service, options.lookup)
    for router in results_and_pages(
        service, settings, pages, resolver, public_url=options.public_url
    ):
        app.include_router(router)
    promotion = options.promotion
    if promotion is not None:
        # A result on a candidate is decided on the moment it is stored.
        service.candidates.listeners.append(promotion.evidence_arrived)
        auth = auth_dependencies(Authenticator(service, settings))
        router = promotion_router(engine, promotion.scenarios, auth, promotion.evidence_arrived)
        app.include_router(documented(router, 400, 401, 403, 404))
        app.include_router(documented(releases_router(engine, promotion.scenarios, auth), 404))
        if settings.public_reads:  # as the results pages: private reads mount no page
            app.include_router(promotion_pages(engine, promotion.scenarios))


def with_own_gerrits(pages: PagesSettings, config: Config) -> PagesSettings:
    """Unless the pages' settings name Gerrit origins (or a gerrit-url), the Gerrits this
    CI listens to may read: their Checks tab works without a line of configuration."""
    if pages.gerrit_origins:
        return pages
    urls = [c.http_url for c in config.connections.values() if c.http_url]
    origins = tuple(dict.fromkeys(origin_of(url) for url in urls))
    return replace(pages, gerrit_origins=origins)


def with_own_rerun(pages: PagesSettings, config: Config) -> PagesSettings:
    """This CI's Rerun in the Checks tab is `run <run_name>`, which every comment trigger
    of its pipelines accepts, unless the pages' settings give its account another."""
    own = config.results.account
    if not config.results.reports_to_itself or own in pages.rerun_comments:
        return pages
    runnable = any(
        isinstance(trigger, GerritTrigger) and trigger.run_comment is not None
        for pipeline in config.pipelines.values()
        for trigger in pipeline.triggers
    )
    if not runnable:  # no pipeline reads comments: a Rerun would do nothing
        return pages
    return replace(pages, rerun_comments={**pages.rerun_comments, own: f"run {config.ci.run_name}"})


def _webhook_tokens(connections: Iterable[GerritConnection]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for connection in connections:
        token = webhook_token(connection)
        if token:
            tokens[connection.name] = token
    return tokens
