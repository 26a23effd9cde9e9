"""Customer complaints on an order: file and resolve."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, SubId, allow, ctx_for, new_id
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.responses import OrderOut, order_response
from ledger.api.schemas import ComplaintIn, ResolveComplaintIn

router = APIRouter(
    prefix="/orders/{order_id}/complaints",
    tags=["complaints"],
    responses=COMMAND_ERRORS,
    route_class=CommandRoute,
)


@router.post("", response_model=OrderOut, dependencies=[allow("complaint")])
def file_complaint(
    order_id: OrderId, body: ComplaintIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Record a customer's complaint: what, how it came in, how to reach them."""
    result = ledger.file_complaint(
        ctx_for(ctx, body),
        order_id,
        complaint_id=new_id("C", ctx, body.complaint_id),
        channel=body.channel,
        category=body.category,
        description=body.description,
        contact=body.contact,
    )
    return order_response(result)


@router.post("/{complaint_id}/resolve", response_model=OrderOut, dependencies=[allow("complaint")])
def resolve_complaint(
    order_id: OrderId, complaint_id: SubId, body: ResolveComplaintIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Close an open complaint with what was done and what the customer said."""
    result = ledger.resolve_complaint(
        ctx_for(ctx, body),
        order_id,
        complaint_id=complaint_id,
        resolution=body.resolution,
        customer_feedback=body.customer_feedback,
    )
    return order_response(result)
