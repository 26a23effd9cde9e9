"""Health for load balancers and operators (no token): readiness (``/health``,
the store answers) and liveness (``/health/live``, the process answers)."""

from __future__ import annotations

import logging
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api.deps import LedgerDep
from ledger.api.responses import FastJSON, HealthOut, LiveOut

router = APIRouter(tags=["health"])
log = logging.getLogger("ledger.api")


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "the store cannot be reached"}},
)
def health(request: Request, ledger: LedgerDep) -> Response:
    """200 when the event store answers a query, 503 when it does not."""
    store = cast(str, request.app.state.store)
    try:
        ledger.recorder.max_notification_id()
    except Exception:  # any failure of the store means "unavailable", never a 500
        log.warning("health check: the %s store did not answer", store, exc_info=True)
        return FastJSON({"status": "unavailable", "store": store}, 503)
    return FastJSON({"status": "ok", "store": store})


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
