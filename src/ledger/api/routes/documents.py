"""A shipment's printable dispatch note and packing list (PDF; any role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ledger.api.deps import LedgerDep, OrderId, PrincipalDep, SubId
from ledger.api.documents import company_of, pdf_response
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.exports import file_responses, language
from ledger.formats.shipping_pdf import Kind, shipping_pdf

router = APIRouter(
    prefix="/orders/{order_id}/shipments/{shipment_id}",
    tags=["shipments"],
    responses={**READ_ERRORS, **file_responses("pdf")},
)


def _document(
    kind: Kind, order_id: Any, shipment_id: str, ledger: Any, request: Request
) -> Response:
    order = ledger.get_order(order_id)
    if shipment_id not in order.shipments:
        raise ApiError(
            404, "unknown_shipment", f"order {order.number} has no shipment {shipment_id!r}",
            {"order": order.number, "shipment_id": shipment_id},
        )  # fmt: skip
    lang = language(request, default="zh")
    body = shipping_pdf(order, shipment_id, kind, company_of(ledger.settings), lang)
    name = f"{kind.replace('_', '-')}-{order.number}-{shipment_id}.pdf"
    return pdf_response(body, name)


@router.get("/dispatch-note.pdf", response_class=Response)
def dispatch_note(
    order_id: OrderId, shipment_id: SubId, ledger: LedgerDep, principal: PrincipalDep,
    request: Request,
) -> Response:  # fmt: skip
    """The shipment's dispatch note (发货单): order number and barcode, carrier,
    consignee, lines and quantities; no prices."""
    return _document("dispatch_note", order_id, shipment_id, ledger, request)


@router.get("/packing-list.pdf", response_class=Response)
def packing_list(
    order_id: OrderId, shipment_id: SubId, ledger: LedgerDep, principal: PrincipalDep,
    request: Request,
) -> Response:  # fmt: skip
    """The shipment's packing list (装箱单): the dispatch note's facts with the
    packages, packing materials and labels."""
    return _document("packing_list", order_id, shipment_id, ledger, request)
