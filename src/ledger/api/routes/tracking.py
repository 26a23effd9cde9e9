"""Customer tracking links: issued and listed by sales and merchandisers
(revoking one is a declared command, ``ledger.api.commands``);
``GET /t/<token>`` answers the customer without a login."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ledger.aggregates.order import Order
from ledger.aggregates.state import TrackingLinkState
from ledger.aggregates.tracking import tracking_links
from ledger.api.deps import CtxDep, LedgerDep, OrderId, allow, ctx_for, in_thread
from ledger.api.errors import COMMAND_ERRORS, READ_ERRORS, ApiError
from ledger.api.params import CleanText
from ledger.api.responses import ErrorOut, FastJSON, etag
from ledger.api.schemas import CommandIn
from ledger.api.tracking import Lookup, PerClientLimit, look_up, pad_refusal, public_view
from ledger.api.ui.i18n import choose_lang, translator
from ledger.api.ui.render import ENV, HEADERS
from ledger.application import Ledger, Result
from ledger.followup import MAX_EXPIRY_DAYS, last_issued
from ledger.settings import Settings

router = APIRouter(
    prefix="/orders/{order_id}/tracking-links", tags=["tracking"], responses=COMMAND_ERRORS
)
public = APIRouter(tags=["tracking"])


class TrackingLinkIn(CommandIn):
    expires_in_days: int = Field(30, ge=1, le=MAX_EXPIRY_DAYS, description="days the link works")


class TrackingLinkOut(BaseModel):
    id: str
    status: str = Field(description="active, expired or revoked")
    issued_at: str
    expires_at: str
    revoked_at: str | None


class IssuedLinkOut(TrackingLinkOut):
    url: str | None = Field(
        description="/t/<token>: shown once (null when an Idempotency-Key repeats the request)"
    )
    version: int


def link_json(link: TrackingLinkState, now: datetime) -> dict[str, Any]:
    if link.revoked_at is not None:
        status = "revoked"
    else:
        status = "expired" if link.expired(now) else "active"
    return {
        "id": link.link_id,
        "status": status,
        "issued_at": link.issued_at.isoformat(),
        "expires_at": link.expires_at.isoformat(),
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
    }


def _answer(result: Result, link: TrackingLinkState, ledger: Ledger, **extra: Any) -> FastJSON:
    body = {**link_json(link, ledger.clock.now()), **extra, "version": result.version}
    headers = {"ETag": etag(result.version)}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return FastJSON(body, 200 if result.replayed else 201, headers)


@router.post("", status_code=201, response_model=IssuedLinkOut, dependencies=[allow("tracking")])
async def issue_tracking_link(
    order_id: OrderId, body: TrackingLinkIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """A link the customer can open without an account; the token is shown once."""

    def run() -> Response:
        result, token = ledger.issue_tracking_link(
            ctx_for(ctx, body), order_id, expires_in_days=body.expires_in_days
        )
        link = last_issued(result.order)
        assert link is not None
        url = f"/t/{token}" if token is not None else None
        return _answer(result, link, ledger, url=url)

    return await in_thread(run)


@router.get(
    "",
    response_model=list[TrackingLinkOut],
    responses=READ_ERRORS,
    dependencies=[allow("tracking")],
)
def list_tracking_links(order_id: OrderId, ledger: LedgerDep) -> Response:
    """The order's links, newest last (never their tokens)."""
    order: Order = ledger.get_order(order_id)
    now = ledger.clock.now()
    links = [link_json(link, now) for link in tracking_links(order).values()]
    return FastJSON(links, headers={"ETag": etag(order.version)})


def _limit(request: Request) -> PerClientLimit:
    limit = getattr(request.app.state, "tracking_limit", None)
    if limit is None:
        settings = cast(Settings, request.app.state.settings)
        limit = request.app.state.tracking_limit = PerClientLimit(settings.tracking_rate_per_minute)
    return cast(PerClientLimit, limit)


# JSON first: a client (and schemathesis) reads the first media type as the main one.
_HTML: dict[str, Any] = {"application/json": {}, "text/html": {"schema": {"type": "string"}}}


@public.get(
    "/t/{token}",
    response_model=None,
    responses={
        200: {
            "description": "the page, or with ?format=json the view as JSON",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        404: {"model": ErrorOut, "description": "unknown or revoked link", "content": _HTML},
        410: {"model": ErrorOut, "description": "the link has expired", "content": _HTML},
        429: {"model": ErrorOut, "description": "too many requests from this address"},
    },
)
async def track(
    request: Request,
    token: Annotated[CleanText, Path(description="the link's token (a wrong one: 404)")],
    ledger: LedgerDep,
    format: Annotated[Literal["html", "json"], Query()] = "html",
) -> Response:
    """A customer's view of the order: no login, the token is the key."""
    started = time.monotonic()
    client = request.client.host if request.client is not None else ""
    retry = _limit(request).allow(client)
    if retry is not None:
        raise ApiError(
            429,
            "too_many_requests",
            "too many tracking requests from this address; try again later",
            {"retry_after_seconds": retry},
            {"Retry-After": str(retry)},
        )
    now = ledger.clock.now()
    lookup: Lookup = await in_thread(lambda: look_up(ledger, token, now))
    lang = choose_lang(None, request.headers.get("accept-language"))
    if lookup.status != "ok":
        await pad_refusal(started)
        # A browser gets a page in its language; any other client the error JSON.
        browser = format == "html" and "text/html" in request.headers.get("accept", "")
        return _refusal(lookup.status, lang, browser)
    view = await in_thread(lambda: public_view(ledger, lookup))
    if format == "json":
        return FastJSON(view, headers={"Cache-Control": "no-store"})
    page = ENV.get_template("tracking.html").render(
        t=translator(lang), lang=lang, html_lang="zh-Hans" if lang == "zh" else "en", view=view
    )
    return Response(page, media_type="text/html", headers={**HEADERS, **_PRIVATE})


# A tracking page is the customer's: no search engine, no referrer leaking the token.
_PRIVATE = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def _refusal(status: str, lang: str, browser: bool) -> Response:
    t = translator(lang)
    code, key = (410, "gone") if status == "expired" else (404, "unknown")
    if not browser:
        error = "tracking_link_expired" if code == 410 else "tracking_link_not_found"
        body = {"code": error, "message": t(f"tracking.{key}"), "details": None}
        return FastJSON(body, code, {"Cache-Control": "no-store"})
    page = ENV.get_template("tracking_refused.html").render(
        t=t, lang=lang, html_lang="zh-Hans" if lang == "zh" else "en", key=key
    )
    return Response(page, code, media_type="text/html", headers={**HEADERS, **_PRIVATE})
