"""The change feed: ``GET /events`` (pages) and ``GET /events/stream`` (Server-Sent Events)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.api.deps import LedgerDep, PrincipalDep
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.params import CleanText
from ledger.api.sse import EventStream, feed_frames, wants
from ledger.application import Ledger, order_id_for
from ledger.integration.feed import DEFAULT_LIMIT, MAX_LIMIT, Feed
from ledger.integration.feed_types import UnknownType, checked_types
from ledger.integration.personal import reads_personal
from ledger.integration.tail import FeedTail, Listener

router = APIRouter(tags=["events"], responses=READ_ERRORS)

Position = Annotated[int, Query(ge=0, le=2**62, description="read the events after this position")]
Types = Annotated[
    CleanText | None,
    Query(max_length=2000, description="comma-separated event types (default: every type)"),
]
OrderRef = Annotated[
    CleanText | None,
    Query(min_length=1, max_length=64, description="only this order (id or number)"),
]
FeedLimit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"events per page (≤ {MAX_LIMIT})")
]
Heartbeat = Annotated[
    float, Query(ge=0.05, le=300, description="seconds of quiet before a heartbeat comment")
]


class FeedEventOut(BaseModel):
    """One event of the log, as the change feed gives it."""

    position: int
    order_id: str
    number: str | None
    type: str
    version: int
    recorded_at: str
    occurred_at: str
    actor: str
    payload: dict[str, Any]


class FeedOut(BaseModel):
    """A page of the feed in log order; ``next`` is the ``after`` of the next page."""

    events: list[FeedEventOut]
    next: int


async def get_feed(request: Request) -> Feed:
    return cast(Feed, request.app.state.feed)


async def get_tail(request: Request) -> FeedTail:
    return cast(FeedTail, request.app.state.feed_tail)


FeedDep = Annotated[Feed, Depends(get_feed)]
TailDep = Annotated[FeedTail, Depends(get_tail)]


def feed_types(types: str | None) -> tuple[str, ...]:
    """``?types=`` as a tuple; 422 naming the unknown ones."""
    try:
        return checked_types((types or "").split(","))
    except UnknownType as unknown:
        raise ApiError(
            422, "unknown_event_type", str(unknown), {"unknown": unknown.unknown}
        ) from None


def feed_order(ledger: Ledger, order: str | None) -> UUID | None:
    """``?order=`` (an id or a number) as the order's id; 404 if there is no such order."""
    if order is None:
        return None
    try:
        order_id = UUID(order)
    except ValueError:
        order_id = order_id_for(order)
    if not ledger.recorder.select_events(order_id, limit=1):
        raise ApiError(404, "order_not_found", f"no order {order!r}", {"order": order})
    return order_id


def in_log(feed: Feed, after: int) -> int:
    """The log's head; 422 if ``after`` is beyond it."""
    head = feed.head()
    if after > head:
        raise ApiError(
            422, "position_not_in_log", f"no event at position {after} yet", {"after": after}
        )
    return head


@router.get("/events", response_model=FeedOut)
def read_events(
    feed: FeedDep,
    ledger: LedgerDep,
    principal: PrincipalDep,
    after: Position = 0,
    limit: FeedLimit = DEFAULT_LIMIT,
    types: Types = None,
    order: OrderRef = None,
) -> Response:
    """Every event of the log after ``after``, oldest first, gap-free: read on
    from ``next`` (the last position read, or the log's end when the page is
    short). With ``order=``, a read looks through a bounded stretch of the log,
    so a page may be short (even empty) before the end; keep reading from ``next``."""
    wanted = feed_types(types)
    order_id = feed_order(ledger, order)
    head = in_log(feed, after)
    opened = reads_personal(principal.roles)
    page = feed.read(after, limit, types=wanted, order=order_id, stop=head, opened=opened)
    return Response(page.json(), media_type="application/json")


STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `id: <position>`, `data: <a feed event as JSON>`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get("/events/stream", response_class=EventStream, status_code=200, responses=STREAM)
async def stream_events(
    request: Request,
    feed: FeedDep,
    tail: TailDep,
    ledger: LedgerDep,
    principal: PrincipalDep,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="start after")] = None,
    types: Types = None,
    order: OrderRef = None,
    heartbeat: Heartbeat = 15.0,
    last_event_id: Annotated[
        str | None, Header(max_length=20, pattern=r"^\d+$", description="resume after this")
    ] = None,
) -> Response:
    """The feed as it grows: the events after ``Last-Event-ID`` (or ``?after=``,
    default: from now on), then each new event as it is recorded."""
    wanted = feed_types(types)
    order_id = await asyncio.to_thread(feed_order, ledger, order)
    start = int(last_event_id) if last_event_id is not None else after
    if start is None:
        start = await asyncio.to_thread(feed.head)
    else:
        await asyncio.to_thread(in_log, feed, start)
    opened = reads_personal(principal.roles)
    listener = Listener(
        asyncio.get_running_loop(), wants(wanted, str(order_id) if order_id else None), opened
    )

    def read(position: int, stop: int) -> Any:
        return feed.read(position, 500, types=wanted, order=order_id, stop=stop, opened=opened)

    frames = feed_frames(tail, listener, read, start, heartbeat)
    return EventStream(frames, tail.stall)
