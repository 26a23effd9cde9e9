"""Shipments: plan, reschedule, pack, transport documents, dispatch, transit, delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, SubId, allow, ctx_for, new_id
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.fields import DocumentKind
from ledger.api.responses import OrderOut, order_response
from ledger.api.schemas import (
    DeliverIn,
    DispatchIn,
    DocumentIn,
    DocumentStatusIn,
    PackIn,
    RescheduleIn,
    ScheduleShipmentIn,
    TransitIn,
    sku_quantities,
)

router = APIRouter(
    prefix="/orders/{order_id}/shipments",
    tags=["shipments"],
    responses=COMMAND_ERRORS,
    route_class=CommandRoute,
)
KindPath = Annotated[DocumentKind, Path()]


@router.post("", response_model=OrderOut, dependencies=[allow("schedule")])
def schedule_shipment(
    order_id: OrderId, body: ScheduleShipmentIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Plan a shipment (never more than ordered minus already planned)."""
    result = ledger.schedule_shipment(
        ctx_for(ctx, body),
        order_id,
        shipment_id=new_id("SH", ctx, body.shipment_id),
        planned_date=body.planned_date,
        lines=sku_quantities(body.lines),
        carrier=body.carrier,
        mode=body.mode,
        estimated_cost=body.estimated_cost,
        export=body.export,
    )
    return order_response(result)


@router.post("/{shipment_id}/reschedule", response_model=OrderOut, dependencies=[allow("schedule")])
def reschedule_shipment(
    order_id: OrderId, shipment_id: SubId, body: RescheduleIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Move a planned shipment to another date (and carrier)."""
    result = ledger.reschedule_shipment(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        planned_date=body.planned_date,
        reason=body.reason,
        carrier=body.carrier,
    )
    return order_response(result)


@router.post("/{shipment_id}/pack", response_model=OrderOut, dependencies=[allow("pack")])
def pack_shipment(
    order_id: OrderId, shipment_id: SubId, body: PackIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Record the packing: packages, materials, labels."""
    result = ledger.pack(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        packages=body.packages,
        materials=body.materials,
        labels=body.labels,
    )
    return order_response(result)


@router.post("/{shipment_id}/documents", response_model=OrderOut, dependencies=[allow("document")])
def issue_document(
    order_id: OrderId, shipment_id: SubId, body: DocumentIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Issue a transport document (drafted unless a status is given)."""
    result = ledger.issue_document(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        kind=body.kind,
        number=body.number,
        status=body.status,
    )
    return order_response(result)


@router.post(
    "/{shipment_id}/documents/{kind}/status",
    response_model=OrderOut,
    dependencies=[allow("document")],
)
def change_document_status(
    order_id: OrderId,
    shipment_id: SubId,
    kind: KindPath,
    body: DocumentStatusIn,
    ledger: LedgerDep,
    ctx: CtxDep,
) -> Response:
    """Move a document drafted → reviewed → submitted → cleared, or reject it."""
    result = ledger.change_document_status(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        kind=kind,
        status=body.status,
        discrepancy=body.discrepancy,
    )
    return order_response(result)


@router.post("/{shipment_id}/dispatch", response_model=OrderOut, dependencies=[allow("dispatch")])
def dispatch_shipment(
    order_id: OrderId, shipment_id: SubId, body: DispatchIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Send the shipment: documents submitted, not on hold, no open critical issue."""
    result = ledger.dispatch(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        tracking_number=body.tracking_number,
        lines=sku_quantities(body.lines) if body.lines is not None else None,
        carrier=body.carrier,
    )
    return order_response(result)


@router.post("/{shipment_id}/transit", response_model=OrderOut, dependencies=[allow("transit")])
def update_transit(
    order_id: OrderId, shipment_id: SubId, body: TransitIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Record where a dispatched shipment is, and any exception (delayed, damaged, lost)."""
    result = ledger.update_transit(
        ctx_for(ctx, body),
        order_id,
        shipment_id=shipment_id,
        status=body.status,
        location=body.location,
        note=body.note,
    )
    return order_response(result)


@router.post("/{shipment_id}/deliver", response_model=OrderOut, dependencies=[allow("deliver")])
def deliver_shipment(
    order_id: OrderId, shipment_id: SubId, body: DeliverIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """The customer received the shipment."""
    result = ledger.deliver(
        ctx_for(ctx, body), order_id, shipment_id=shipment_id, received_by=body.received_by
    )
    return order_response(result)
