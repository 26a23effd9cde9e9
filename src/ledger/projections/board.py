"""The progress board: one card per live order, in columns by stage.

A card's row is the order's facts; "overdue" depends on the day, so it is
worked out when the board is read (``today`` comes from the caller's clock).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledger.aggregates.readout import ratio
from ledger.aggregates.stages import CLOSED, SIDE_STAGES, STAGES, Stage
from ledger.projections.facts import STEPS, OrderFacts, fraction
from ledger.projections.framework import Column, Filter, View
from ledger.projections.order_rows import FactsModel, Page, flag, paged_query

COLUMNS = tuple(s for s in (*STAGES, *SIDE_STAGES) if s not in CLOSED)
FLAGS = ("on_hold", "open_quality_issue", "open_complaint", "overdue", "transit_exception")

NEXT_ACTION: dict[str, str] = {
    Stage.RECEIVED: "verify order",
    Stage.REJECTED: "amend order and verify again",
    Stage.VERIFIED: "confirm with customer",
    Stage.CONFIRMED: "plan production or allocate stock",
    Stage.IN_PRODUCTION: "follow up production",
    Stage.READY_TO_SHIP: "schedule shipment and prepare documents",
    Stage.SHIPPED: "track shipment to delivery",
    Stage.DELIVERED: "invoice customer",
    Stage.INVOICED: "collect payment",
    Stage.SETTLED: "archive order",
    Stage.ON_HOLD: "resolve hold and release",
}


class BoardModel(FactsModel):
    """Cards for every order that is not closed (cancelled, split, merged, archived)."""

    name = "board"
    checkpointed = True
    topics = STEPS.topics(without=STEPS.unchanged)
    columns = (
        Column("number", "text", lambda f: f.number),
        Column("customer", "text", lambda f: f.customer),
        Column("stage", "text", lambda f: f.stage),
        Column("on_hold", "int", lambda f: flag(f.on_hold)),
        Column("open_quality_issue", "int", lambda f: flag(bool(f.open_quality_issues))),
        Column("open_complaint", "int", lambda f: flag(bool(f.open_complaints))),
        Column("transit_exception", "int", lambda f: flag(f.transit_exception)),
        Column("latest_promise", "text", lambda f: f.latest_promise),
        Column("open_quantity", "int", lambda f: f.open_quantity),
    )

    def keep(self, facts: OrderFacts) -> bool:
        return facts.status not in CLOSED


BOARD = BoardModel()


def is_overdue(facts: OrderFacts, today: date) -> bool:
    """Goods still to ship after the latest promised date."""
    promise = facts.latest_promise
    return promise is not None and facts.open_quantity > 0 and promise < today.isoformat()


def next_action(facts: OrderFacts, today: date) -> str:
    """What the merchandiser should do next; blocking problems come first."""
    if facts.transit_exception:
        return "handle transit exception"
    if facts.open_quality_issues:
        return "resolve quality issue"
    if facts.open_complaints and facts.stage in (Stage.SETTLED, Stage.INVOICED, Stage.DELIVERED):
        return "resolve complaint"
    stage = facts.stage
    if stage == Stage.INVOICED and Decimal(facts.paid) == facts.net_invoiced:
        return "settle order"
    if stage in (Stage.READY_TO_SHIP, Stage.CONFIRMED, Stage.IN_PRODUCTION) and is_overdue(
        facts, today
    ):
        return "agree a new delivery date with customer"
    return NEXT_ACTION.get(stage, "")


def card(facts: OrderFacts, today: date) -> dict[str, Any]:
    """The card as the board shows it (JSON-ready)."""
    total = facts.total
    return {
        "order_id": facts.order_id,
        "number": facts.number,
        "customer": facts.customer,
        "stage": facts.stage,
        "currency": facts.currency,
        "total": str(total),
        "original_promised_date": facts.original_promise,
        "latest_promised_date": facts.latest_promise,
        "shipped_ratio": ratio(facts.shipped, facts.due),
        "invoiced_ratio": ratio(facts.net_invoiced, total),
        "paid_ratio": ratio(Decimal(facts.paid), total),
        "shipped_fraction": fraction(facts.shipped, facts.due),
        "invoiced_fraction": fraction(facts.net_invoiced, total),
        "paid_fraction": fraction(Decimal(facts.paid), total),
        "open_quantity": facts.open_quantity,
        "flags": {
            "on_hold": facts.on_hold,
            "open_quality_issue": bool(facts.open_quality_issues),
            "open_complaint": bool(facts.open_complaints),
            "overdue": is_overdue(facts, today),
            "transit_exception": facts.transit_exception,
        },
        "next_action": next_action(facts, today),
        "created_at": facts.created_at,
        "last_event_at": facts.last_event_at,
        "version": facts.version,
    }


def board_filters(
    today: date, stage: str | None = None, customer: str | None = None, flag_: str | None = None
) -> list[Filter]:
    filters: list[Filter] = []
    if stage is not None:
        filters.append(("stage", "=", stage))
    if customer is not None:
        filters.append(("customer", "=", customer))
    if flag_ == "overdue":
        filters += [("open_quantity", ">", 0), ("latest_promise", "<", today.isoformat())]
    elif flag_ is not None:
        if flag_ not in FLAGS:
            raise ValueError(f"unknown flag {flag_!r}; one of {', '.join(FLAGS)}")
        filters.append((flag_, "=", 1))
    return filters


def board_cards(
    view: View[OrderFacts],
    *,
    today: date,
    stage: str | None = None,
    customer: str | None = None,
    flag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of cards (by number), filtered by stage, customer and flag."""
    filters = board_filters(today, stage, customer, flag)
    return paged_query(view, filters, ("number",), Page(limit, offset), lambda f: card(f, today))


def board_columns(
    view: View[OrderFacts],
    *,
    today: date,
    customer: str | None = None,
    flag: str | None = None,
    per_column: int = 20,
) -> dict[str, Any]:
    """The board: per stage column its card count and its first cards."""
    columns = []
    for stage in COLUMNS:
        page = board_cards(
            view, today=today, stage=stage, customer=customer, flag=flag, limit=per_column
        )
        columns.append({"stage": stage, "count": page["total"], "cards": page["items"]})
    return {"columns": columns, "today": today.isoformat()}
