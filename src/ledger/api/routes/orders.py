"""Orders: look up, search, history; their commands come from ledger.api.commands."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ledger.aggregates.stages import SIDE_STAGES, STAGES
from ledger.api.deps import LedgerDep, OrderId, PrincipalDep
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.exports import listing_get
from ledger.api.fields import BusinessDate, BusinessMoment
from ledger.api.history import DEFAULT_LIMIT, MAX_PAGE_BYTES, history_page
from ledger.api.history import MAX_LIMIT as MAX_HISTORY_LIMIT
from ledger.api.params import CleanText
from ledger.api.read_models import (
    VIEW_ERRORS,
    After,
    Customer,
    Limit,
    Offset,
    SearchOut,
    Wait,
    WorkerDep,
    caught_up,
    invalid,
)
from ledger.api.responses import (
    FastJSON,
    HistoryEntryOut,
    HistoryPageOut,
    OrderOut,
    etag,
    order_json,
)
from ledger.api.routes.commands import command_router
from ledger.application import OrderNotFound
from ledger.exports.listings import SEARCH
from ledger.exports.template import ORDERS_TEMPLATE
from ledger.projections.search import search_orders as find_orders

router = APIRouter()
reads = APIRouter(prefix="/orders", tags=["orders"], responses=READ_ERRORS)
commands = command_router("orders")

STAGE_PATTERN = f"^({'|'.join((*STAGES, *SIDE_STAGES))})$"


@listing_get(
    reads,
    "",
    SEARCH,
    variants={"template": ORDERS_TEMPLATE},
    response_model=SearchOut,
    responses=VIEW_ERRORS,
)
def search_orders(
    ledger: LedgerDep,
    worker: WorkerDep,
    principal: PrincipalDep,
    number: Annotated[CleanText | None, Query(min_length=1, max_length=40)] = None,
    customer: Customer = None,
    stage: Annotated[CleanText | None, Query(pattern=STAGE_PATTERN, description="a stage")] = None,
    created_from: Annotated[
        BusinessDate | None, Query(description="created on or after (UTC day)")
    ] = None,
    created_to: Annotated[
        BusinessDate | None, Query(description="created on or before (UTC day)")
    ] = None,
    after: After = None,
    wait: Wait = 5.0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """``?number=`` alone: that order, full and current, from the event store.
    Otherwise a page of the search read model (newest number first)."""
    criteria = (customer, stage, created_from, created_to, after)
    if number is not None and all(value is None for value in criteria):
        try:
            items = [order_json(ledger.find_by_number(number))]
        except OrderNotFound:
            items = []
        return FastJSON({"items": items, "count": len(items), "total": len(items),
                         "limit": limit, "offset": 0})  # fmt: skip
    if created_from and created_to and created_from > created_to:
        raise invalid("created_from is after created_to")
    caught_up(worker, "search", after, wait)
    page = find_orders(
        worker.views["search"], number=number, customer=customer, stage=stage,
        created_from=created_from, created_to=created_to, limit=limit, offset=offset,
    )  # fmt: skip
    return FastJSON({**page, "count": len(page["items"])})


@reads.get("/{order_id}", response_model=OrderOut)
def get_order(
    order_id: OrderId,
    ledger: LedgerDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    as_of: Annotated[BusinessMoment | None, Query(description="ISO 8601; naive means UTC")] = None,
) -> Response:
    """The order now, at a version, or as it was at a moment (replayed from its events)."""
    if version is not None and as_of is not None:
        raise ApiError(422, "invalid_input", "give ?version= or ?as_of=, not both")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    order = ledger.get_order(order_id, version=version, as_of=as_of)
    return FastJSON(order_json(order), headers={"ETag": etag(order.version)})


HistoryLimit = Annotated[
    int | None,
    Query(ge=1, le=MAX_HISTORY_LIMIT, description=f"entries per page (default {DEFAULT_LIMIT})"),
]
HistoryAfter = Annotated[
    int | None, Query(ge=0, le=10**9, description="the page starts after this version")
]


@reads.get("/{order_id}/history", response_model=list[HistoryEntryOut] | HistoryPageOut)
def get_history(
    order_id: OrderId,
    ledger: LedgerDep,
    principal: PrincipalDep,
    with_state: Annotated[
        bool, Query(description="add what each event changed and the state after it")
    ] = False,
    limit: HistoryLimit = None,
    after: HistoryAfter = None,
) -> Response:
    """The order's events, oldest first, with who, when and why. With ``limit``
    or ``after``: a page (``items``, ``next``). Without: the whole list, when it
    fits in one page of the largest size; otherwise 422 ``history_needs_paging``."""
    paged = limit is not None or after is not None
    size = limit or (DEFAULT_LIMIT if paged else MAX_HISTORY_LIMIT)
    page = history_page(ledger, order_id, after=after or 0, limit=size, with_state=with_state)
    if paged:
        headers = {"Link": _next_link(order_id, page.next, size, with_state)} if page.next else {}
        body = {"items": page.entries, "limit": size, "after": after or 0, "next": page.next}
        return FastJSON(body, headers=headers)
    if page.next is not None:
        raise ApiError(
            422,
            "history_needs_paging",
            f"this history is longer than one answer holds ({MAX_HISTORY_LIMIT} entries or "
            f"{MAX_PAGE_BYTES // 2**20} MB); ask for it in pages with ?limit= and ?after=",
            {"max_limit": MAX_HISTORY_LIMIT, "max_page_bytes": MAX_PAGE_BYTES},
        )
    return FastJSON(page.entries)


def _next_link(order_id: UUID, after: int, limit: int, with_state: bool) -> str:
    query = f"after={after}&limit={limit}" + ("&with_state=true" if with_state else "")
    return f'</orders/{order_id}/history?{query}>; rel="next"'


router.include_router(commands)
router.include_router(reads)
