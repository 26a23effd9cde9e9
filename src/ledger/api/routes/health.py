"""Health for load balancers and operators (no token): readiness (``/health``,
the store answers) and liveness (``/health/live``, the process answers)."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api.deps import LedgerDep, in_thread
from ledger.api.responses import FastJSON, HealthOut, LiveOut
from ledger.application import Ledger

router = APIRouter(tags=["health"])
log = logging.getLogger("ledger.api")


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "the store cannot be reached"}},
)
async def health(request: Request, ledger: LedgerDep) -> Response:
    """200 when the event store answers a query, 503 when it does not."""
    store = cast(str, request.app.state.store)
    probe = cast(StoreProbe, request.app.state.store_probe)
    if not await probe.answers(ledger, store):
        return FastJSON({"status": "unavailable", "store": store}, 503)
    return FastJSON({"status": "ok", "store": store})


class StoreProbe:
    """Readiness asks the store one query at a time per process: a
    ``GET /health`` arriving while a query is in flight takes that one's
    answer (at most one query's time older than the request). One
    thread and one pool connection per request, as before, made checks queue
    for the pool and the interpreter lock behind each other under a load
    balancer's or a benchmark's many connections: the tail reached seconds
    while the median was 3 ms."""

    def __init__(self) -> None:
        self._flight: asyncio.Future[bool] | None = None

    async def answers(self, ledger: Ledger, store: str) -> bool:
        flight = self._flight
        if flight is None or flight.get_loop() is not asyncio.get_running_loop():
            flight = self._flight = asyncio.ensure_future(self._ask(ledger, store))
            flight.add_done_callback(self._landed)
        return await asyncio.shield(flight)

    def _landed(self, flight: asyncio.Future[bool]) -> None:
        if self._flight is flight:
            self._flight = None

    @staticmethod
    async def _ask(ledger: Ledger, store: str) -> bool:
        try:
            await in_thread(ledger.recorder.max_notification_id)
        except Exception:  # any failure of the store means "unavailable", never a 500
            log.warning("health check: the %s store did not answer", store, exc_info=True)
            return False
        return True


LIVE_PATH = "/health/live"
_LIVE = b'{"status":"ok"}'
_LIVE_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
}
_LIVE_BODY = {"type": "http.response.body", "body": _LIVE}


@router.get(LIVE_PATH, response_model=LiveOut)
async def live() -> Response:
    """200 while this process serves requests; touches no store (readiness is
    ``GET /health``). Answered on the event loop, without a worker thread."""
    return Response(_LIVE, media_type="application/json")


class Liveness:
    """ASGI middleware, outermost: answers ``GET /health/live`` itself, before
    the other middleware and the router (which tries every route in turn), so
    a liveness probe costs what a bare endpoint costs. The route above is
    what the OpenAPI document shows, and answers the same."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == LIVE_PATH and scope["method"] == "GET":
            await send(_LIVE_START)
            await send(_LIVE_BODY)
            return
        await self.app(scope, receive, send)
