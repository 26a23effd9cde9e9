"""The money rule through the application, on SQLite and PostgreSQL: for
random unit prices with up to 4 decimals, random quantities and random
partial shipments, invoicing what the order allows always ends in an order
that settles (every amount recorded, read back from the store, rounded once
per line to the currency's minor unit)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    SkuQty,
    line_amount,
    round_money,
)
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings

CTX = Ctx(actor="finance")
DAY = date(2026, 5, 4)
PASS = {"customer": True, "product": True, "delivery": True}
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = Ledger(
        Settings(database_url=database_url, pool_size=2),
        SimulatedClock(datetime(2026, 5, 4, tzinfo=UTC), tick=timedelta(seconds=1)),
    )
    yield app
    app.close()


@st.composite
def priced_lines(draw: st.DrawFn) -> list[Line]:
    skus = draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True))
    prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999.9999"), places=4)
    return [Line(sku, f"产品 {sku}", draw(st.integers(1, 9)), draw(prices)) for sku in skus]


class Follow:
    """One order followed through the ledger, as finance and the warehouse would."""

    def __init__(self, ledger: Ledger, lines: list[Line], currency: str, share: Decimal) -> None:
        self.ledger, self.serial = ledger, 0
        self.id: UUID = ledger.receive(
            CTX, channel="email", customer=Customer("María González"), lines=lines,
            delivery=Delivery("上海市浦东新区", "李四"), currency=currency,
        ).order.id  # fmt: skip
        ledger.verify(CTX, self.id, checks=PASS)
        terms = PaymentTerms("bank_transfer", 30, share)
        ledger.confirm(CTX, self.id, promised_date=DAY, payment_terms=terms)

    def next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def invoice_allowed(self, halves: bool) -> None:
        """Invoice what may be invoiced now (in two invoices when ``halves``)."""
        for _ in range(2 if halves else 1):
            order = self.ledger.get_order(self.id)
            room = order.invoice_cap() - order.net_invoiced
            amount = round_money(room / 2, order.currency) if halves else room
            if amount <= 0:
                amount = room
            if room <= 0:
                return
            self.ledger.invoice(
                CTX, self.id, invoice_number=self.next("INV"), amount=amount, issued_on=DAY
            )

    def deliver(self, sku: str, quantity: int) -> None:
        sid, app = self.next("S"), self.ledger
        app.schedule_shipment(CTX, self.id, shipment_id=sid, planned_date=DAY,
                              lines=[SkuQty(sku, quantity)], carrier="SF", mode="road")  # fmt: skip
        for kind in ("dispatch_note", "waybill"):
            app.issue_document(CTX, self.id, shipment_id=sid, kind=kind, number=f"{kind}-{sid}",
                               status="submitted")  # fmt: skip
        app.dispatch(CTX, self.id, shipment_id=sid, tracking_number=f"SF{sid}")
        app.deliver(CTX, self.id, shipment_id=sid, received_by="李四")


@pytest.mark.parametrize("database_url", STORES, indirect=True)
@settings(
    max_examples=min(settings().max_examples, 30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=priced_lines(),
    currency=st.sampled_from(["CNY", "JPY", "KWD"]),
    share=st.sampled_from([Decimal(0), Decimal(30), Decimal("33.33"), Decimal(100)]),
    data=st.data(),
)
def test_invoicing_what_is_allowed_always_settles_on_every_store(
    ledger: Ledger, lines: list[Line], currency: str, share: Decimal, data: st.DataObject
) -> None:
    follow = Follow(ledger, lines, currency, share)  # a new order per example
    follow.invoice_allowed(data.draw(st.booleans(), label="prepayment in halves"))
    while True:
        order = ledger.get_order(follow.id)
        open_lines = sorted(sku for sku, line in order.lines.items() if line.open)
        if not open_lines:
            break
        sku = data.draw(st.sampled_from(open_lines), label="line")
        open_ = order.lines[sku].open
        if data.draw(st.integers(0, 6), label="write off") == 0:
            ledger.short_close(CTX, follow.id, sku=sku, quantity=open_, reason="停产")
        else:
            follow.deliver(sku, data.draw(st.integers(1, open_), label="quantity"))
            follow.invoice_allowed(data.draw(st.booleans(), label="in halves"))
    follow.invoice_allowed(halves=False)
    order = ledger.get_order(follow.id)
    note(f"total {order.total} shipped {order.shipped_value} invoiced {order.net_invoiced}")
    assert order.total == sum(
        (line_amount(line.quantity, line.unit_price, currency) for line in lines), Decimal(0)
    )
    if order.outstanding:
        ledger.receive_payment(
            CTX, follow.id, reference=follow.next("P"), amount=order.outstanding, received_on=DAY
        )
    settled = ledger.settle(CTX, follow.id).order
    assert settled.stage == "settled" and settled.paid_amount == settled.net_invoiced
    assert settled.net_invoiced >= settled.shipped_value
