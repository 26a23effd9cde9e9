"""The order search index: number, customer, stage, created date, total."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.aggregates.order import Order
from ledger.projections.facts import STEPS, OrderFacts
from ledger.projections.framework import Column, Filter, View
from ledger.projections.order_rows import FactsModel, Page, paged_query

# Events that cannot change stage, total or number are not folded.
_IGNORED = (
    *STEPS.unchanged,
    Order.ShipmentRescheduled,
    Order.QualityIssueRaised,
    Order.QualityIssueResolved,
    Order.TransitUpdated,
    Order.ComplaintFiled,
    Order.ComplaintResolved,
)


class SearchModel(FactsModel):
    """A row per order ever received, closed ones included."""

    name = "search"
    topics = STEPS.topics(without=_IGNORED)
    columns = (
        Column("number", "text", lambda f: f.number),
        Column("customer", "text", lambda f: f.customer),
        Column("stage", "text", lambda f: f.stage),
        Column("created_on", "text", lambda f: f.created_at[:10]),
    )


SEARCH = SearchModel()


def search_entry(facts: OrderFacts) -> dict[str, Any]:
    return {
        "order_id": facts.order_id,
        "number": facts.number,
        "customer": facts.customer,
        "stage": facts.stage,
        "created_at": facts.created_at,
        "currency": facts.currency,
        "total": str(facts.total),
    }


def search_orders(
    view: View[OrderFacts],
    *,
    number: str | None = None,
    customer: str | None = None,
    stage: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Orders matching every given criterion (exact number, customer, stage;
    created date range inclusive), newest number first."""
    filters: list[Filter] = []
    if number is not None:
        filters.append(("number", "=", number))
    if customer is not None:
        filters.append(("customer", "=", customer))
    if stage is not None:
        filters.append(("stage", "=", stage))
    if created_from is not None:
        filters.append(("created_on", ">=", created_from.isoformat()))
    if created_to is not None:
        filters.append(("created_on", "<=", created_to.isoformat()))
    return paged_query(view, filters, ("number",), Page(limit, offset), search_entry)
