"""The composition root: ``create_app`` builds the ledger, the token table,
the error handlers and the routes, and keeps them on ``app.state``.

``ledger serve --workers N`` imports ``ledger.api.app:serve_app`` as a
factory in each worker; settings then come from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp

from ledger.api.auth import resolve_tokens
from ledger.api.availability import StoreGate, StoreWatch
from ledger.api.docs import install_docs
from ledger.api.errors import install_error_handlers
from ledger.api.fastpath import CommandRoute
from ledger.api.limits import BodyLimit
from ledger.api.metrics import CountCommands, Metrics
from ledger.api.responses import FastJSON
from ledger.api.routes import ROUTERS
from ledger.api.routes.health import Liveness, StoreProbe
from ledger.api.routes.imports import UPLOAD_BODY_BYTES, UPLOAD_PATHS
from ledger.api.shortcut import install_shortcut
from ledger.api.ui.imports_page import router as imports_ui_router
from ledger.api.ui.pages import arrival
from ledger.api.ui.pages import router as ui_router
from ledger.api.ui.workspace import router as workspace_router
from ledger.application import Ledger
from ledger.collection import serve_collections
from ledger.integration.feed import Feed, numbers_in
from ledger.integration.tail import FeedTail
from ledger.settings import Settings, backend_of, get_settings
from ledger.worker import Worker

log = logging.getLogger("ledger.api")

DESCRIPTION = """Event-sourced order follow-up (業務跟單).

Send `Authorization: Bearer <token>`. Commands accept `If-Match: "<version>"`
(412 when stale) and `Idempotency-Key` (a repeat returns the first answer).
Every error is `{"code", "message", "details"}`."""


class LedgerAPI(FastAPI):
    """FastAPI, with commands sent past its routing to their routes
    (``ledger.api.shortcut``: inside every middleware and error handler)."""

    def build_middleware_stack(self) -> ASGIApp:
        return install_shortcut(self, super().build_middleware_stack(), CommandRoute)


# FastAPI's instrumentation off: otherwise each request asks the OpenTelemetry
# providers whether one is configured (LEDGER_TELEMETRY=true leaves it on).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def serve_app() -> FastAPI:
    """The app as ``ledger serve`` runs it in each worker: ``create_app`` from
    the environment, its start-up heap frozen once started (see
    ``collection.freeze_heap``; not in tests, which build many apps in one
    process and would keep each one's objects for good)."""
    app = create_app()
    app.state.freeze_heap = True
    return app


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> FastAPI:
    """Build the whole service; tests pass their own settings or ledger."""
    if settings is None:
        settings = ledger.settings if ledger is not None else get_settings()
    store = backend_of(settings)
    tokens, dev_token = resolve_tokens(settings.tokens, store)
    owns_ledger = ledger is None
    service = ledger if ledger is not None else Ledger(settings)
    worker = Worker(service, clock=service.clock)
    feed = Feed(service, numbers=numbers_in(worker.views["search"]), store=worker.views["feed"])  # type: ignore[arg-type]
    tail = FeedTail(feed)
    # PostgreSQL can go away under a running service: answer 503 at once meanwhile.
    watch = StoreWatch.of(settings.database) if store == "postgres" else None

    app = LedgerAPI(
        title="ledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan(settings, service, worker, tail, watch, owns_ledger=owns_ledger),
        default_response_class=FastJSON,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        telemetry=None if settings.telemetry else NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.freeze_heap = False  # serve_app sets it
    app.state.ledger = service
    app.state.store = store
    app.state.worker = worker
    app.state.feed = feed
    app.state.feed_tail = tail
    app.state.store_watch = watch
    app.state.store_probe = StoreProbe()  # readiness checks share the query in flight
    app.state.metrics = metrics = Metrics(worker)
    app.state.tokens = tokens
    app.state.dev_token = dev_token
    if dev_token is not None:
        log.warning("no LEDGER_TOKENS: development token %s", dev_token)
    _install(app, watch, store, metrics)
    return app


def _install(app: FastAPI, watch: StoreWatch | None, store: str, metrics: Metrics) -> None:
    """The error handlers, the docs, the middleware and every router."""
    install_error_handlers(app)
    install_docs(app)
    if watch is not None:
        app.add_middleware(StoreGate, watch=watch, store=store)
    app.add_middleware(BodyLimit, uploads=dict.fromkeys(UPLOAD_PATHS, UPLOAD_BODY_BYTES))
    app.add_middleware(CountCommands, metrics=metrics)
    app.add_middleware(Liveness)  # added last: the outermost of these
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(imports_ui_router)  # before the pages' catch-all 404
    app.include_router(workspace_router)  # /ui/orders/new and the actions, likewise
    app.include_router(ui_router)  # the web pages under /ui
    app.include_router(arrival)  # `/`: a browser goes to the board


def _lifespan(
    settings: Settings,
    service: Ledger,
    worker: Worker,
    tail: FeedTail,
    watch: StoreWatch | None,
    *,
    owns_ledger: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What starts with the service and stops with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # statsmodels (about 110 MB a process) is imported by the first forecast
        # a process makes, not ahead: most workers never make one (the daily
        # job's forecasts are stored; only a single series is made on demand).
        # Runners and scheduler in this process unless `serve --no-projections`.
        if settings.run_projections:
            worker.start()
        if watch is not None:
            watch.start()
        if app.state.freeze_heap:  # the start-up heap, out of every later collection
            serve_collections()
        try:
            yield
        finally:
            if watch is not None:
                watch.stop()
            tail.stop()
            worker.stop()
            if owns_ledger:
                service.close()

    return lifespan
