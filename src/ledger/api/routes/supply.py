"""Supply: stock allocation, purchases of parts, production progress, quality issues."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, SubId, allow, ctx_for, new_id
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.responses import OrderOut, order_response
from ledger.api.schemas import (
    CommandIn,
    ProgressIn,
    PurchaseIn,
    QualityIssueIn,
    ReceivePurchaseIn,
    ResolveQualityIssueIn,
    StockIn,
)

router = APIRouter(
    prefix="/orders/{order_id}", tags=["supply"], responses=COMMAND_ERRORS, route_class=CommandRoute
)


@router.post("/allocations", response_model=OrderOut, dependencies=[allow("stock")])
def allocate_stock(order_id: OrderId, body: StockIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Reserve warehouse stock for a line's open quantity."""
    result = ledger.allocate_stock(
        ctx_for(ctx, body), order_id, sku=body.sku, quantity=body.quantity, warehouse=body.warehouse
    )
    return order_response(result)


@router.post("/allocations/release", response_model=OrderOut, dependencies=[allow("stock")])
def release_stock(order_id: OrderId, body: StockIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Give reserved stock back to the warehouse."""
    result = ledger.release_stock(
        ctx_for(ctx, body), order_id, sku=body.sku, quantity=body.quantity, warehouse=body.warehouse
    )
    return order_response(result)


@router.post("/purchases", response_model=OrderOut, dependencies=[allow("purchase")])
def order_purchase(order_id: OrderId, body: PurchaseIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Order parts from a supplier for this order."""
    result = ledger.order_purchase(
        ctx_for(ctx, body),
        order_id,
        po_number=new_id("PO", ctx, body.po_number),
        supplier=body.supplier,
        items=[item.value() for item in body.items],
        eta=body.eta,
    )
    return order_response(result)


@router.post(
    "/purchases/{po_number}/receive", response_model=OrderOut, dependencies=[allow("purchase")]
)
def receive_purchase(
    order_id: OrderId, po_number: SubId, body: ReceivePurchaseIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Record inspected parts of an open purchase order: accepted or rejected."""
    result = ledger.receive_purchase(
        ctx_for(ctx, body),
        order_id,
        po_number=po_number,
        accepted=body.accepted,
        rejected=body.rejected,
        note=body.note,
    )
    return order_response(result)


@router.post("/production", response_model=OrderOut, dependencies=[allow("production")])
def progress_production(
    order_id: OrderId, body: ProgressIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Report production progress; the percentage never goes down."""
    result = ledger.progress_production(
        ctx_for(ctx, body), order_id, stage=body.stage, percent=body.percent
    )
    return order_response(result)


@router.post("/production/complete", response_model=OrderOut, dependencies=[allow("production")])
def complete_production(
    order_id: OrderId, ledger: LedgerDep, ctx: CtxDep, body: CommandIn | None = None
) -> Response:
    """Production is finished; the goods can be packed and shipped."""
    return order_response(ledger.complete_production(ctx_for(ctx, body), order_id))


@router.post("/quality-issues", response_model=OrderOut, dependencies=[allow("quality")])
def raise_quality_issue(
    order_id: OrderId, body: QualityIssueIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Record a quality problem; an open critical one stops dispatch."""
    result = ledger.raise_quality_issue(
        ctx_for(ctx, body),
        order_id,
        issue_id=new_id("QI", ctx, body.issue_id),
        severity=body.severity,
        category=body.category,
        description=body.description,
        sku=body.sku,
    )
    return order_response(result)


@router.post(
    "/quality-issues/{issue_id}/resolve", response_model=OrderOut, dependencies=[allow("quality")]
)
def resolve_quality_issue(
    order_id: OrderId, issue_id: SubId, body: ResolveQualityIssueIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Close an open quality issue: return, exchange, repair or compensation."""
    result = ledger.resolve_quality_issue(
        ctx_for(ctx, body),
        order_id,
        issue_id=issue_id,
        resolution=body.resolution,
        amount=body.amount,
        note=body.note,
    )
    return order_response(result)
