"""Alerts on the feed: the alert scan records each overdue order and each
shipment's transit exception once when it starts and once when it ends,
at a position of the log, even when a scan is stopped half-way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import pytest

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, SkuQty
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.integration.feed import Feed
from ledger.settings import Settings
from ledger.worker import Worker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CTX = Ctx(actor="tester")
CHECKS = {"customer": True, "product": True, "delivery": True}


@pytest.fixture
def scanner(database_url: str) -> Iterator[tuple[Ledger, Worker, SimulatedClock]]:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    worker = Worker(app, clock=clock).start(schedule=False)
    yield app, worker, clock
    worker.stop()
    app.close()


def confirmed(app: Ledger, promised: date) -> UUID:
    oid: UUID = app.receive(CTX, channel="phone", customer=Customer("王小明"),
                            lines=[Line("A", "产品 A", 10, Decimal("2.50"))],
                            delivery=Delivery("上海", "李四")).order.id  # fmt: skip
    app.verify(CTX, oid, checks=CHECKS)
    app.confirm(CTX, oid, promised_date=promised, payment_terms=PaymentTerms())
    return oid


def alerts_after(app: Ledger, worker: Worker, position: int, at: datetime) -> list[dict[str, Any]]:
    """Scan at ``at``; the alert events recorded after ``position``."""
    caught_up(worker)
    worker.scan_alerts(now=at)
    events = Feed(app).read(position, 1000).events
    return [e for e in events if e["type"].startswith("alert.")]


def caught_up(worker: Worker) -> None:
    for name in ("board", "backlog", "search"):
        worker.wait(name, worker.source.head(), timeout=5)


def test_an_overdue_order_is_raised_once_and_cleared_once(
    scanner: tuple[Ledger, Worker, SimulatedClock],
) -> None:
    app, worker, _ = scanner
    oid = confirmed(app, promised=date(2026, 3, 10))
    order = app.get_order(oid)
    start = worker.source.head()
    raised = alerts_after(app, worker, start, datetime(2026, 3, 12, tzinfo=UTC))
    assert [(e["type"], e["order_id"], e["number"], e["version"]) for e in raised] == [
        ("alert.overdue", str(oid), order.number, order.version)
    ]
    assert raised[0]["payload"]["severity"] == "low" and raised[0]["actor"] == "system:alerts"
    assert raised[0]["payload"]["stage"] == "confirmed" and raised[0]["position"] > start
    later = worker.source.head()
    assert alerts_after(app, worker, later, datetime(2026, 4, 20, tzinfo=UTC)) == []  # worse
    app.promise_date(CTX, oid, promised_date=date(2026, 6, 1), reason="客戶同意延期")
    assert alerts_after(app, worker, later, datetime(2026, 4, 21, tzinfo=UTC)) == []  # original
    app.cancel(CTX, oid, reason="客戶取消")
    cleared = alerts_after(app, worker, later, datetime(2026, 4, 22, tzinfo=UTC))
    assert [(e["type"], e["payload"]["condition"], e["version"]) for e in cleared] == [
        ("alert.cleared", "overdue", order.version + 2)
    ]
    assert cleared[0]["payload"]["stage"] == "cancelled"


def test_each_shipment_in_a_transit_exception_is_raised_once_until_it_recovers(
    scanner: tuple[Ledger, Worker, SimulatedClock],
) -> None:
    app, worker, clock = scanner
    oid = confirmed(app, promised=date(2027, 1, 1))
    app.allocate_stock(CTX, oid, sku="A", quantity=10, warehouse="W1")
    for sid, quantity in (("S1", 4), ("S2", 6)):
        lines = [SkuQty("A", quantity)]
        app.schedule_shipment(CTX, oid, shipment_id=sid, planned_date=date(2026, 3, 20),
                              lines=lines, carrier="SF", mode="express")  # fmt: skip
        for kind in ("dispatch_note", "waybill"):
            app.issue_document(CTX, oid, shipment_id=sid, kind=kind, number=f"{sid}-{kind}",
                               status="submitted")  # fmt: skip
        app.dispatch(CTX, oid, shipment_id=sid, lines=lines, tracking_number=f"T-{sid}")
    start = worker.source.head()
    app.update_transit(CTX, oid, shipment_id="S1", status="damaged", location="杭州")
    first = alerts_after(app, worker, start, clock.now())
    assert [(e["type"], e["payload"]["shipment_id"], e["payload"]["status"]) for e in first] == [
        ("alert.transit_exception", "S1", "damaged")
    ]
    mark = worker.source.head()
    app.update_transit(CTX, oid, shipment_id="S2", status="delayed", location="南京")
    second = alerts_after(app, worker, mark, clock.now())
    assert [e["payload"]["shipment_id"] for e in second] == ["S2"]  # S1 is not raised again
    mark = worker.source.head()
    app.update_transit(CTX, oid, shipment_id="S1", status="in_transit", location="上海")
    recovered = alerts_after(app, worker, mark, clock.now() + timedelta(minutes=1))
    assert [(e["type"], e["payload"]["condition"]) for e in recovered] == [
        ("alert.cleared", "transit_exception:S1")
    ]
    mark = worker.source.head()
    app.update_transit(CTX, oid, shipment_id="S1", status="lost", location="上海")
    again = alerts_after(app, worker, mark, clock.now())
    assert [(e["type"], e["payload"]["status"]) for e in again] == [
        ("alert.transit_exception", "lost")
    ]


def test_a_scan_stopped_between_its_writes_is_finished_by_the_next_without_repeats(
    scanner: tuple[Ledger, Worker, SimulatedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, worker, _ = scanner
    confirmed(app, promised=date(2026, 3, 10))
    start = worker.source.head()
    day = datetime(2026, 3, 12, tzinfo=UTC)
    events = worker.alert_events

    def stopped(*args: Any) -> int:
        raise RuntimeError("the process died here")

    caught_up(worker)
    with monkeypatch.context() as patch:  # marked, nothing recorded
        patch.setattr(events, "_save", stopped)
        with pytest.raises(RuntimeError):
            worker.scan_alerts(now=day)
    assert [e["type"] for e in alerts_after(app, worker, start, day)] == ["alert.overdue"]
    mark = worker.source.head()
    settle = events._settle
    with monkeypatch.context() as patch:  # recorded, not settled
        patch.setattr(events, "_settle", stopped)
        app.cancel(CTX, next(iter_orders(app)), reason="客戶取消")
        caught_up(worker)
        with pytest.raises(RuntimeError):
            worker.scan_alerts(now=day)
    assert events._settle == settle
    assert [e["type"] for e in Feed(app).read(mark, 100).events] == [
        "OrderCancelled",
        "alert.cleared",
    ]
    assert alerts_after(app, worker, worker.source.head(), day) == []  # settled, not repeated
    assert all(row["state"] != "clearing" for row in events.view.select())


def iter_orders(app: Ledger) -> Iterator[UUID]:
    for note in app.recorder.select_notifications(1, 1):
        yield cast(UUID, note.originator_id)
