"""Backlog review: decide about a stuck order (sales, merchandiser); the
decisions' outcomes per month (any role). Recording the review itself is a
declared command (``ledger.api.commands.review_backlog``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from ledger.aggregates.values import FIRST_DAY, LAST_DAY
from ledger.api.deps import CtxDep, LedgerDep, OrderId, PrincipalDep, allow, ctx_for
from ledger.api.errors import COMMAND_ERRORS, ApiError
from ledger.api.fastpath import CommandRoute
from ledger.api.fields import Reason, Sku, UnitPrice
from ledger.api.read_models import VIEW_ERRORS, After, Open, Wait, WorkerDep, caught_up
from ledger.api.responses import FastJSON, OrderOut, etag, order_json, order_response
from ledger.api.schemas import Body, CommandIn, CustomerIn, DeliveryIn
from ledger.projections.backlog_review import disposition_report

router = APIRouter(
    prefix="/orders/{order_id}/backlog",
    tags=["backlog review"],
    responses=COMMAND_ERRORS,
    route_class=CommandRoute,
)
reports = APIRouter(tags=["read models"], responses=VIEW_ERRORS)


class PriceIn(Body):
    sku: Sku
    unit_price: UnitPrice


class DisposeIn(CommandIn):
    action: Literal["discount", "resell", "donate", "cancel"]
    reason: Reason
    prices: list[PriceIn] = Field(
        default_factory=list, max_length=500, description="discount: a new unit price per line"
    )
    customer: CustomerIn | None = Field(None, description="resell: the new customer")
    delivery: DeliveryIn | None = Field(None, description="resell: where the new order goes")


@router.post("/dispose", response_model=OrderOut, dependencies=[allow("backlog")])
def dispose_backlog(order_id: OrderId, body: DisposeIn, ledger: LedgerDep, ctx: CtxDep) -> Response:
    """Decide about a reviewed stuck order: discount, resell, donate or cancel.
    A resale answers 201 with the new order under ``resold_order``."""
    prices = {item.sku: item.unit_price for item in body.prices}
    if len(prices) != len(body.prices):
        raise ApiError(422, "invalid_input", "each line's price is given once", {"field": "prices"})
    result = ledger.dispose_backlog(
        ctx_for(ctx, body),
        order_id,
        action=body.action,
        reason=body.reason,
        prices=prices,
        customer=body.customer.value() if body.customer is not None else None,
        delivery=body.delivery.value() if body.delivery is not None else None,
    )
    if body.action != "resell" or not result.others:
        return order_response(result)
    resold = result.others[0]
    content = {**order_json(result.order, result.position), "resold_order": order_json(resold)}
    headers = {"ETag": etag(result.version), "Location": f"/orders/{resold.id}"}
    return FastJSON(content, 201, headers)


Year = Annotated[int | None, Query(ge=FIRST_DAY.year, le=LAST_DAY.year)]


@reports.get("/reports/backlog-dispositions", response_model=Open)
def backlog_dispositions(
    worker: WorkerDep, principal: PrincipalDep, year: Year = None, after: After = None,
    wait: Wait = 5.0,
) -> Response:  # fmt: skip
    """Backlog decisions per month (discount, resell, donate, cancel): orders,
    units and value per currency."""
    caught_up(worker, "reports", after, wait)
    return FastJSON(disposition_report(worker.views["reports"], year=year))
