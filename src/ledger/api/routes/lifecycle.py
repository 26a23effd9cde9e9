"""Manual overrides and the end of the road: hold, release, cancel, short-close, archive."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, allow, ctx_for
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.responses import OrderOut, order_response
from ledger.api.schemas import ArchiveIn, ReasonIn, ShortCloseIn

router = APIRouter(
    prefix="/orders/{order_id}",
    tags=["lifecycle"],
    responses=COMMAND_ERRORS,
    route_class=CommandRoute,
)


@router.post("/hold", response_model=OrderOut, dependencies=[allow("hold")])
def hold_order(order_id: OrderId, body: ReasonIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Stop the order moving (credit check, customer request...)."""
    return order_response(ledger.hold(ctx_for(ctx, body), order_id, reason=body.reason))


@router.post("/release", response_model=OrderOut, dependencies=[allow("release")])
def release_order(order_id: OrderId, body: ReasonIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Let an order on hold move again."""
    return order_response(ledger.release(ctx_for(ctx, body), order_id, reason=body.reason))


@router.post("/cancel", response_model=OrderOut, dependencies=[allow("cancel")])
def cancel_order(order_id: OrderId, body: ReasonIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Cancel the order; refused once goods are dispatched or invoiced."""
    return order_response(ledger.cancel(ctx_for(ctx, body), order_id, reason=body.reason))


@router.post("/short-close", response_model=OrderOut, dependencies=[allow("short_close")])
def short_close_line(
    order_id: OrderId, body: ShortCloseIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Write off an open remainder of a line that will never ship."""
    result = ledger.short_close(
        ctx_for(ctx, body), order_id, sku=body.sku, quantity=body.quantity, reason=body.reason
    )
    return order_response(result)


@router.post("/archive", response_model=OrderOut, dependencies=[allow("archive")])
def archive_order(order_id: OrderId, body: ArchiveIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """File a settled or cancelled order with nothing left open."""
    result = ledger.archive(ctx_for(ctx, body), order_id, archive_ref=body.archive_ref)
    return order_response(result)
