"""Sales and lead-time reports on a simulated clock: amounts per currency,
this month beside the same month last year, median/p90 days to each stage
and the bottleneck step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, SkuQty
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.projections.framework import Source, catch_up
from ledger.projections.lead_times import lead_times, quantile
from ledger.projections.reports import REPORTS, sales_report
from ledger.projections.runner import open_view
from ledger.settings import Settings

CTX = Ctx(actor="sales")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASS = {"customer": True, "product": True, "delivery": True}


def receive(app: Ledger, customer: str, lines: list[Line], currency: str = "CNY") -> UUID:
    return app.receive(
        CTX,
        channel="phone",
        customer=Customer(customer),
        lines=lines,
        delivery=Delivery("上海", "李四"),
        currency=currency,
    ).order.id


def report_view(app: Ledger) -> Any:
    view = open_view(app, REPORTS)
    catch_up(view, Source.of(app))
    return view


def test_quantiles_interpolate_between_closest_ranks() -> None:
    assert quantile([], 0.5) is None
    assert quantile([4.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([1.0, 2.0, 4.0], 0.9) == 3.6
    assert quantile([1.0, 2.0, 3.0, 10.0], 0.5) == 2.5


def test_lead_times_give_median_and_p90_days_and_the_slowest_step() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    orders = [receive(app, "王小明", [Line("A", "产品 A", 1, Decimal(10))]) for _ in range(3)]
    for oid, verified, confirmed in zip(orders, (1, 2, 4), (2, 5, 8), strict=True):
        clock.set(T0 + timedelta(days=verified))
        app.verify(CTX, oid, checks=PASS)
        clock.set(T0 + timedelta(days=confirmed))
        app.confirm(CTX, oid, promised_date=date(2026, 4, 1), payment_terms=PaymentTerms())
    report = lead_times(report_view(app))
    by_stage = {item["stage"]: item for item in report["items"]}
    assert by_stage["verified"] | {"stage": "verified"} == {
        "stage": "verified", "orders": 3, "median_days": 2.0, "p90_days": 3.6,
        "median_step_days": 2.0, "p90_step_days": 3.6,
    }  # fmt: skip
    assert (by_stage["confirmed"]["median_days"], by_stage["confirmed"]["p90_days"]) == (5.0, 7.4)
    assert by_stage["confirmed"]["median_step_days"] == 3.0
    assert by_stage["shipped"]["orders"] == 0 and by_stage["shipped"]["median_days"] is None
    assert report["bottleneck"] == {"stage": "confirmed", "median_step_days": 3.0}
    assert lead_times(report_view(app), year=2025)["bottleneck"] is None


def test_a_prepaid_order_reaches_delivered_and_invoiced_at_once_as_the_aggregate_notes() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    oid = receive(app, "王小明", [Line("A", "产品 A", 2, Decimal(50))])
    app.verify(CTX, oid, checks=PASS)
    terms = PaymentTerms("bank_transfer", 30, Decimal(30))
    app.confirm(CTX, oid, promised_date=date(2026, 4, 1), payment_terms=terms)
    app.invoice(CTX, oid, invoice_number="INV-1", amount=Decimal(30), issued_on=T0.date())
    app.schedule_shipment(CTX, oid, shipment_id="S1", planned_date=T0.date(),
                          lines=[SkuQty("A", 2)], carrier="顺丰", mode="road")  # fmt: skip
    for kind in ("dispatch_note", "waybill"):
        app.issue_document(CTX, oid, shipment_id="S1", kind=kind, number=kind, status="submitted")
    app.dispatch(CTX, oid, shipment_id="S1", tracking_number="SF1")
    clock.advance(timedelta(days=3))
    app.deliver(CTX, oid, shipment_id="S1", received_by="李四")
    row = report_view(app).rows([str(oid)])[str(oid)]
    truth = app.get_order(oid).stage_reached
    assert row.reached == {stage: at.isoformat() for stage, at in truth.items()}
    assert row.reached["delivered"] == row.reached["invoiced"]
    assert "ready_to_ship" not in row.reached


def test_sales_by_month_keep_currencies_apart_and_show_last_year_beside() -> None:
    clock = SimulatedClock(datetime(2025, 3, 10, tzinfo=UTC))
    app = Ledger(Settings(database_url="memory://"), clock)
    receive(app, "王小明", [Line("A", "产品 A", 4, Decimal(25))])
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    receive(app, "王小明", [Line("A", "产品 A", 2, Decimal(25))])
    receive(app, "María González", [Line("B", "产品 B", 1, Decimal(20))], currency="USD")
    app.cancel(CTX, receive(app, "María González", [Line("B", "产品 B", 1, Decimal(9))]),
               reason="withdrawn")  # fmt: skip
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    receive(app, "María González", [Line("A", "产品 A", 1, Decimal("10.50"))])
    view = report_view(app)
    report = sales_report(view, group_by="month", year=2026, today=date(2026, 3, 15))
    assert [(i["month"], i["currency"], i["orders"], i["amount"]) for i in report["items"]] == [
        ("2026-03", "CNY", 1, "50.00"), ("2026-03", "USD", 1, "20.00"),
        ("2026-04", "CNY", 1, "10.50"),
    ]  # fmt: skip
    march = report["items"][0]
    assert march["cancelled"] == 1
    assert march["last_year"] == {"month": "2025-03", "orders": 1, "quantity": 4,
                                  "amount": "100.00", "cancelled": 0}  # fmt: skip
    assert report["totals"]["CNY"]["amount"] == "60.50" and report["total"] == 3
    assert report["this_month"]["current"]["CNY"]["amount"] == "50.00"
    assert report["this_month"]["last_year"]["CNY"]["amount"] == "100.00"
    assert report["this_month"]["last_year"]["USD"]["orders"] == 0


def test_sales_by_customer_product_and_channel() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    receive(app, "王小明", [Line("A", "产品 A", 2, Decimal(5)), Line("B", "产品 B", 1, Decimal(3))])
    receive(app, "María González", [Line("A", "产品 A", 1, Decimal(5))])
    view = report_view(app)
    products = sales_report(view, group_by="product")["items"]
    assert [(i["product"], i["orders"], i["quantity"], i["amount"]) for i in products] == [
        ("A", 2, 3, "15.00"), ("B", 1, 1, "3.00"),
    ]  # fmt: skip
    customers = sales_report(view, group_by="customer", product="B")["items"]
    assert [(i["customer"], i["amount"]) for i in customers] == [("王小明", "13.00")]
    channels = sales_report(view, group_by="channel", limit=1)
    assert channels["items"][0]["channel"] == "phone" and channels["items"][0]["orders"] == 2


@pytest.mark.parametrize(
    "query", [{"group_by": "week"}, {"group_by": "month", "year": 0}, {"group_by": "month",
                                                                         "limit": 0}],
)  # fmt: skip
def test_sales_report_refuses_bad_filters(query: dict[str, Any]) -> None:
    app = Ledger(Settings(database_url="memory://"), SimulatedClock(T0))
    with pytest.raises(ValueError):
        sales_report(report_view(app), **query)
