"""Copies of an order share nothing with it, and its readout stays exact.

The application's aggregate cache hands out a deep copy on every read, so a
command working on its copy must never change the cached order; ``Order``
copies itself through pickle for speed, so this is checked here.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe, plain
from ledger.aggregates.values import PaymentTerms, SkuQty
from strategies import confirmed, delivered, ready_shipment, replay


def busy_order() -> Order:
    order = confirmed(prepayment="30")
    order.allocate_stock(sku="A", quantity=4, warehouse="Kunshan")
    order.raise_quality_issue(
        issue_id="QI-1", severity="minor", category="finish", description="scratches", sku="A"
    )
    order.file_complaint(
        complaint_id="CP-1", channel="phone", category="delay", description="where is it"
    )
    order.promise_date(date(2026, 4, 1), "late parts")
    delivered(order, "S1", [SkuQty("A", 4)])
    ready_shipment(order, "S2", [SkuQty("B", 2)])
    return order


def test_a_deep_copy_equals_the_order_and_shares_no_mutable_state() -> None:
    order = busy_order()
    order.collect_events()
    before = describe(order)
    twin = copy.deepcopy(order)
    assert type(twin) is Order
    assert vars(twin) == vars(order)
    assert twin.lines is not order.lines
    assert twin.lines["A"] is not order.lines["A"]
    assert twin.shipments["S2"].documents is not order.shipments["S2"].documents
    # A command on the copy leaves the original exactly as it was.
    twin.hold("credit check")
    twin.allocate_stock(sku="C", quantity=1, warehouse="Kunshan")
    twin.lines["B"].allocated["Elsewhere"] = 1
    assert describe(order) == before
    assert twin.version == order.version + 2
    assert [type(e).__name__ for e in twin.collect_events()] == [
        "OrderPutOnHold",
        "StockAllocated",
    ]


def test_a_deep_copy_keeps_pending_events_and_stays_replayable() -> None:
    order = busy_order()
    twin = copy.deepcopy(order)
    assert [e.originator_version for e in twin.pending_events] == list(range(1, order.version + 1))
    assert describe(replay(twin)) == describe(order)


def test_the_readout_of_values_is_exact() -> None:
    terms = PaymentTerms("bank_transfer", 30, Decimal("12.50"))
    assert plain(terms) == {
        "method": "bank_transfer",
        "due_days": 30,
        "prepayment_percent": "12.50",
    }
    assert plain({"a": [terms, date(2026, 1, 2), None, True, 1.5]}) == {
        "a": [plain(terms), "2026-01-02", None, True, 1.5]
    }
    assert plain(Decimal("1.500"), normalize_decimals=True) == "1.5"
    assert plain(Decimal("1.500")) == "1.500"
