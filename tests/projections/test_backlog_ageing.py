"""The backlog ages on the clock: buckets against the original and the latest
promise, and staleness after LEDGER_STALE_DAYS days without an event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, SkuQty
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.projections.backlog import BACKLOG, backlog_report, bucket
from ledger.projections.framework import Source, catch_up
from ledger.projections.runner import open_view
from ledger.projections.timetravel import backlog_as_of
from ledger.settings import Settings

CTX = Ctx(actor="sales")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def confirmed_order(app: Ledger, promised: date) -> UUID:
    result = app.receive(
        CTX,
        channel="phone",
        customer=Customer("王小明"),
        lines=[Line("A", "产品 A", 10, Decimal("2.50")), Line("B", "产品 B", 4, Decimal("10.00"))],
        delivery=Delivery("上海", "李四"),
    )
    oid = result.order.id
    app.verify(CTX, oid, checks={"customer": True, "product": True, "delivery": True})
    app.confirm(CTX, oid, promised_date=promised, payment_terms=PaymentTerms())
    return oid


def test_buckets_are_inclusive_ranges_of_days_late() -> None:
    assert [bucket(d) for d in (None, 0, 7, 8, 30, 31, 90, 91, 400)] == [
        None, "0-7", "0-7", "8-30", "8-30", "31-90", "31-90", ">90", ">90",
    ]  # fmt: skip


def test_an_overdue_order_ages_through_the_buckets_of_both_promises() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    oid = confirmed_order(app, promised=date(2026, 3, 10))
    clock.advance(timedelta(days=5))
    app.promise_date(CTX, oid, promised_date=date(2026, 4, 1),
                     reason="supplier late")  # fmt: skip
    view = open_view(app, BACKLOG)
    catch_up(view, Source.of(app))

    def item_at(day: datetime) -> dict[str, object]:
        report = backlog_report(view, now=day, stale_days=365)
        assert report["total"] <= 1
        return report["items"][0] if report["items"] else {}

    assert item_at(datetime(2026, 3, 10, 12, tzinfo=UTC)) == {}
    early = item_at(datetime(2026, 3, 18, 12, tzinfo=UTC))
    assert early["days_late_original"] == 8 and early["ageing_original"] == "8-30"
    assert early["days_late_latest"] is None and early["ageing_latest"] is None
    later = item_at(datetime(2026, 6, 15, 12, tzinfo=UTC))
    assert later["ageing_original"] == ">90" and later["ageing_latest"] == "31-90"
    assert later["open_quantity"] == 14 and later["open_value"] == "65.00"
    summary = backlog_report(view, now=datetime(2026, 6, 15, tzinfo=UTC), stale_days=365)
    assert summary["summary"]["by_product"]["B"]["open_value"] == {"CNY": "40.00"}


def test_shipping_everything_takes_an_order_out_of_the_overdue_backlog() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    oid = confirmed_order(app, promised=date(2026, 3, 3))
    app.schedule_shipment(
        CTX,
        oid,
        shipment_id="S1",
        planned_date=date(2026, 3, 3),
        lines=[SkuQty("A", 10), SkuQty("B", 4)],
        carrier="顺丰",
        mode="road",
    )
    for kind in ("dispatch_note", "waybill"):
        app.issue_document(CTX, oid, shipment_id="S1", kind=kind, number=kind, status="submitted")
    app.dispatch(CTX, oid, shipment_id="S1", tracking_number="SF1")
    view = open_view(app, BACKLOG)
    catch_up(view, Source.of(app))
    report = backlog_report(view, now=T0 + timedelta(days=10), stale_days=14)
    assert report["total"] == 0


def test_a_quiet_order_becomes_stale_after_the_configured_days() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    confirmed_order(app, promised=date(2026, 12, 1))
    view = open_view(app, BACKLOG)
    catch_up(view, Source.of(app))
    assert backlog_report(view, now=T0 + timedelta(days=13), stale_days=14)["total"] == 0
    stale = backlog_report(view, now=T0 + timedelta(days=14, hours=1), stale_days=14)
    assert stale["total"] == 1 and stale["items"][0]["stale"]
    assert stale["items"][0]["overdue_latest"] is False


def test_the_backlog_as_of_a_past_moment_ignores_later_events() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    oid = confirmed_order(app, promised=date(2026, 3, 5))
    clock.advance(timedelta(days=20))
    moment = clock.now()
    clock.advance(timedelta(days=1))
    app.promise_date(CTX, oid, promised_date=date(2026, 5, 1), reason="new plan")
    past = backlog_as_of(app, moment, stale_days=14)
    assert past["items"][0]["latest_promised_date"] == "2026-03-05"
    assert past["items"][0]["days_late_latest"] == 17
