"""Money: invoices, credit notes, payments, settlement."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, allow, ctx_for
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.responses import OrderOut, order_response
from ledger.api.schemas import CommandIn, CreditNoteIn, InvoiceIn, PaymentIn, sku_quantities

router = APIRouter(
    prefix="/orders/{order_id}",
    tags=["finance"],
    responses=COMMAND_ERRORS,
    route_class=CommandRoute,
)


@router.post("/invoices", response_model=OrderOut, dependencies=[allow("invoice")])
def invoice_order(order_id: OrderId, body: InvoiceIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Invoice: never beyond the total; before delivery only the prepayment share."""
    result = ledger.invoice(
        ctx_for(ctx, body),
        order_id,
        invoice_number=body.invoice_number,
        amount=body.amount,
        issued_on=body.issued_on,
        lines=sku_quantities(body.lines),
    )
    return order_response(result)


@router.post("/credit-notes", response_model=OrderOut, dependencies=[allow("credit")])
def issue_credit_note(
    order_id: OrderId, body: CreditNoteIn, ledger: LedgerDep, ctx: CtxDep
) -> Response:
    """Credit part of what was invoiced and not paid (returns, compensation)."""
    result = ledger.issue_credit_note(
        ctx_for(ctx, body),
        order_id,
        credit_note_number=body.credit_note_number,
        amount=body.amount,
        reason=body.reason,
        invoice_number=body.invoice_number or "",
    )
    return order_response(result)


@router.post("/payments", response_model=OrderOut, dependencies=[allow("payment")])
def receive_payment(order_id: OrderId, body: PaymentIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Record a payment; never more than invoiced and unpaid."""
    result = ledger.receive_payment(
        ctx_for(ctx, body),
        order_id,
        reference=body.reference,
        amount=body.amount,
        received_on=body.received_on,
    )
    return order_response(result)


@router.post("/settle", response_model=OrderOut, dependencies=[allow("settle")])
def settle_order(
    order_id: OrderId, ledger: LedgerDep, ctx: CtxDep, body: CommandIn | None = None
) -> Response:
    """Close the account: everything shipped or written off, invoiced and paid."""
    return order_response(ledger.settle(ctx_for(ctx, body), order_id))
