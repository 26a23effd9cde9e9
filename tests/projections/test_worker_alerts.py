"""The alert scan, on a simulated clock: overdue orders (severity by days
late), stale orders, transit exceptions; an alert keeps the time it was first
raised and goes away when its cause does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from worker_support import CTX, confirmed

from ledger.aggregates.values import SkuQty
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.alerts import list_alerts
from ledger.settings import Settings
from ledger.worker import Worker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def scanned(worker: Worker, at: datetime) -> dict[str, dict[str, object]]:
    for name in ("board", "backlog"):
        worker.wait(name, worker.source.head(), timeout=5)
    worker.scan_alerts(now=at)
    page = list_alerts(worker.alerts, limit=500)
    return {f"{a['kind']}:{a['number']}": a for a in page["items"]}


def test_overdue_orders_raise_alerts_whose_severity_grows_with_days_late(
    ledger_settings: Settings,
) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(ledger_settings, clock)
    worker = Worker(app, clock=clock).start(schedule=False)
    try:
        late = confirmed(app, promised=date(2026, 3, 10))
        confirmed(app, promised=date(2026, 6, 1), customer="María")
        number = app.get_order(late).number
        assert scanned(worker, datetime(2026, 3, 10, 12, tzinfo=UTC)) == {}
        first = scanned(worker, datetime(2026, 3, 12, 12, tzinfo=UTC))
        assert list(first) == [f"overdue:{number}"]
        assert first[f"overdue:{number}"]["severity"] == "low"
        later = scanned(worker, datetime(2026, 4, 1, 12, tzinfo=UTC))
        assert later[f"overdue:{number}"]["severity"] == "medium"
        assert later[f"overdue:{number}"]["raised_at"] == first[f"overdue:{number}"]["raised_at"]
        assert (
            scanned(worker, datetime(2026, 5, 1, 12, tzinfo=UTC))[f"overdue:{number}"]["severity"]
            == "high"
        )
    finally:
        worker.stop()
        app.close()


def test_a_quiet_order_becomes_stale_and_a_transit_exception_is_raised_at_once() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://", stale_days=14), clock)
    worker = Worker(app, clock=clock)
    oid = confirmed(app, promised=date(2027, 1, 1))
    number = app.get_order(oid).number
    assert scanned(worker, T0 + timedelta(days=13)) == {}
    # Stale, and never reviewed: due for a backlog review too.
    assert set(scanned(worker, T0 + timedelta(days=15))) == {
        f"stale:{number}",
        f"review_due:{number}",
    }
    app.allocate_stock(CTX, oid, sku="A", quantity=10, warehouse="W1")
    lines = [SkuQty("A", 10)]
    app.schedule_shipment(CTX, oid, shipment_id="S1", planned_date=date(2026, 3, 20),
                          lines=lines, carrier="SF", mode="express")  # fmt: skip
    for kind in ("dispatch_note", "waybill"):
        app.issue_document(CTX, oid, shipment_id="S1", kind=kind, number=kind, status="submitted")
    app.dispatch(CTX, oid, shipment_id="S1", lines=lines, tracking_number="T1")
    app.update_transit(CTX, oid, shipment_id="S1", status="damaged", location="杭州")
    now = clock.now()
    alerts = scanned(worker, now)
    assert set(alerts) == {f"transit_exception:{number}"}
    assert alerts[f"transit_exception:{number}"]["severity"] == "high"
    app.update_transit(CTX, oid, shipment_id="S1", status="in_transit", location="上海")
    assert scanned(worker, clock.now()) == {}
