"""Helpers of the worker tests: orders with promises, and views compared
with an in-memory fold of every event (what a full rebuild produces)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms
from ledger.application import Ctx, Ledger
from ledger.projections.framework import ReadModel, Source, View, fold_events, records_of

CTX = Ctx(actor="tester")
CHECKS = {"customer": True, "product": True, "delivery": True}


def receive(app: Ledger, customer: str = "王小明") -> Any:
    return app.receive(
        CTX,
        channel="phone",
        customer=Customer(customer),
        lines=[Line("A", "产品 A", 10, Decimal("2.50"))],
        delivery=Delivery("上海", "李四"),
    )


def confirmed(app: Ledger, promised: date, customer: str = "王小明") -> UUID:
    oid: UUID = receive(app, customer).order.id
    app.verify(CTX, oid, checks=CHECKS)
    app.confirm(CTX, oid, promised_date=promised, payment_terms=PaymentTerms())
    return oid


def folded(app: Ledger, model: ReadModel[Any]) -> dict[str, str]:
    """The model's rows as a rebuild from zero makes them."""
    source = Source.of(app)
    notes = source.recorder.select_notifications(0, 10**9, topics=model.topics)
    events = [source.decode(n) for n in notes]  # as the projections decode
    return records_of(model, fold_events(model, events))


def stored(view: View[Any]) -> dict[str, str]:
    """An order-facts view's rows (board, backlog, search), keyed by order."""
    return records_of(view.model, {row.order_id: row for row in view.select()})
