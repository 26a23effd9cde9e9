"""Orders: receive, look up, history; verify, amend, confirm, promise; split, merge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ledger.api.deps import CtxDep, LedgerDep, OrderId, PrincipalDep, allow, ctx_for
from ledger.api.errors import COMMAND_ERRORS, READ_ERRORS, ApiError
from ledger.api.responses import (
    FastJSON,
    HistoryEntryOut,
    OrderOut,
    OrderPage,
    etag,
    history_json,
    order_json,
    order_response,
)
from ledger.api.schemas import (
    AmendIn,
    ConfirmIn,
    MergeIn,
    PromiseIn,
    ReceiveIn,
    SplitIn,
    VerifyIn,
    sku_quantities,
)
from ledger.application import OrderNotFound

router = APIRouter()
reads = APIRouter(prefix="/orders", tags=["orders"], responses=READ_ERRORS)
commands = APIRouter(prefix="/orders", tags=["orders"], responses=COMMAND_ERRORS)

SEARCH_NOTE = "search by customer or stage arrives with the search projection; use ?number="


@commands.post("", status_code=201, response_model=OrderOut, dependencies=[allow("receive")])
def receive_order(body: ReceiveIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Record a new order; the system gives it its number (SO-YYYY-NNNNNN)."""
    result = ledger.receive(
        ctx_for(ctx, body),
        channel=body.channel,
        customer=body.customer.value(),
        lines=[line.value() for line in body.lines],
        delivery=body.delivery.value(),
        currency=body.currency,
        requested_date=body.requested_date,
    )
    return order_response(result, status_code=201, location=True)


@reads.get("", response_model=OrderPage)
def search_orders(
    ledger: LedgerDep,
    principal: PrincipalDep,
    number: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    stage: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Find an order by its number (customer and stage search: not yet, 422)."""
    if number is None or customer is not None or stage is not None:
        raise ApiError(422, "search_not_available", SEARCH_NOTE)
    try:
        items = [order_json(ledger.find_by_number(number))]
    except OrderNotFound:
        items = []
    return FastJSON({"items": items, "count": len(items)})


@reads.get("/{order_id}", response_model=OrderOut)
def get_order(
    order_id: OrderId,
    ledger: LedgerDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    as_of: Annotated[datetime | None, Query(description="ISO 8601; naive means UTC")] = None,
) -> Response:
    """The order now, at a version, or as it was at a moment (replayed from its events)."""
    if version is not None and as_of is not None:
        raise ApiError(422, "invalid_input", "give ?version= or ?as_of=, not both")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    order = ledger.get_order(order_id, version=version, as_of=as_of)
    return FastJSON(order_json(order), headers={"ETag": etag(order.version)})


@reads.get("/{order_id}/history", response_model=list[HistoryEntryOut])
def get_history(order_id: OrderId, ledger: LedgerDep, principal: PrincipalDep) -> Response:
    """Every event of the order, oldest first, with who, when and why."""
    return FastJSON([history_json(entry) for entry in ledger.history(order_id)])


@commands.post("/merge", status_code=201, response_model=OrderOut, dependencies=[allow("merge")])
def merge_orders(body: MergeIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Close orders of one customer into a new order (all saved together)."""
    result = ledger.merge(ctx_for(ctx, body), body.order_ids)
    return order_response(result, status_code=201, location=True)


@commands.post("/{order_id}/verify", response_model=OrderOut, dependencies=[allow("verify")])
def verify_order(order_id: OrderId, body: VerifyIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Record the check of customer, product and delivery (all true: verified)."""
    result = ledger.verify(
        ctx_for(ctx, body),
        order_id,
        checks={str(area): ok for area, ok in body.checks.items()},
        problems=body.problems,
    )
    return order_response(result)


@commands.post("/{order_id}/amend", response_model=OrderOut, dependencies=[allow("amend")])
def amend_order(order_id: OrderId, body: AmendIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Change lines, delivery or requested date before production starts."""
    result = ledger.amend(
        ctx_for(ctx, body),
        order_id,
        reason=body.reason,
        lines=[line.value() for line in body.lines] if body.lines is not None else None,
        delivery=body.delivery.value() if body.delivery is not None else None,
        requested_date=body.requested_date,
    )
    return order_response(result)


@commands.post("/{order_id}/confirm", response_model=OrderOut, dependencies=[allow("confirm")])
def confirm_order(order_id: OrderId, body: ConfirmIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Record what was agreed with the customer: date, payment terms, invoicing."""
    result = ledger.confirm(
        ctx_for(ctx, body),
        order_id,
        promised_date=body.promised_date,
        payment_terms=body.payment_terms.value(),
        invoice_info=dict(body.invoice_info),
        special_requirements=body.special_requirements,
        contract_ref=body.contract_ref,
    )
    return order_response(result)


@commands.post("/{order_id}/promises", response_model=OrderOut, dependencies=[allow("promise")])
def promise_date(order_id: OrderId, body: PromiseIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Promise a new delivery date; earlier promises stay on record."""
    result = ledger.promise_date(
        ctx_for(ctx, body), order_id, promised_date=body.promised_date, reason=body.reason
    )
    return order_response(result)


@commands.post("/{order_id}/split", response_model=OrderOut, dependencies=[allow("split")])
def split_order(order_id: OrderId, body: SplitIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Close the order into child orders whose lines add up to its unshipped lines."""
    parts = [sku_quantities(part) for part in body.parts]
    return order_response(ledger.split(ctx_for(ctx, body), order_id, parts))


router.include_router(commands)
router.include_router(reads)
