"""A snapshot stores the order's state as it was shaped when it was taken:
one written by an earlier shape must still load (``Order.class_version`` and
its ``upcast_v<n>_v<n+1>`` steps), and a changed shape cannot go unnoticed.

``tests/fixtures/snapshot_v1.json`` is a snapshot of ``story()`` taken with
the state shape of ``class_version`` 1 (as the library's ``Snapshot.take``
and the domain transcodings write it). It is never regenerated: a later
shape adds ``snapshot_v<n>.json`` beside it (``python -m
aggregates.test_snapshot_versions <n>`` from ``tests/``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
)
from ledger.transcodings import register_domain_transcodings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ORDER_ID = UUID("5c1d0e6a-3f0b-4c51-9a51-000000000001")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def transcoder() -> JSONTranscoder:
    """The library's transcodings and the domain's (personal ones left out:
    sealing is tested elsewhere; the shape of the state is what is kept)."""
    coder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        coder.register(transcoding)
    register_domain_transcodings(coder)
    return coder


def story() -> Order:
    """An order that has been through every part of the process, at fixed moments."""
    moments = iter(T0 + timedelta(hours=i) for i in range(100))

    def step(command: Any, **kwargs: Any) -> None:
        with stamped(Stamp(next(moments), {"actor": "fixture", "reason": "备注"})):
            command(**kwargs)

    lines = [
        Line("A", "产品 A", 10, Decimal("2.50"), "M-1", "标准"),
        Line("B", "产品 B", 4, Decimal("10.00"), "M-2", "加厚"),
    ]
    with stamped(Stamp(next(moments), {"actor": "fixture"})):
        order = Order.receive(
            order_id=ORDER_ID,
            number="SO-2026-000001",
            channel="phone",
            customer=Customer("王小明", "13800138000", "wang@example.cn", "上海市浦东新区"),
            lines=lines,
            delivery=Delivery("上海市浦东新区", "李四", "13900139000", "road"),
            requested_date=date(2026, 2, 20),
        )
    step(order.verify, checks={"customer": True, "product": True, "delivery": True})
    step(
        order.confirm,
        promised_date=date(2026, 3, 1),
        payment_terms=PaymentTerms("bank_transfer", 30, Decimal(0)),
        invoice_info={"title": "上海某某有限公司"},
        special_requirements="木箱包装",
        contract_ref="HT-2026-001",
    )
    step(
        order.order_purchase,
        po_number="PO-1",
        supplier="宁波配件厂",
        items=[PurchaseItem("A", 10)],
        eta=date(2026, 1, 20),
    )
    step(order.progress_production, stage="组装", percent=60)
    step(
        order.raise_quality_issue,
        issue_id="Q-1",
        severity="minor",
        category="外观",
        description="划痕",
        sku="A",
    )
    step(
        order.schedule_shipment,
        shipment_id="S-1",
        planned_date=date(2026, 2, 15),
        lines=[SkuQty("A", 10), SkuQty("B", 4)],
        carrier="顺丰速运",
        mode="road",
        export=False,
    )
    for kind in ("dispatch_note", "waybill"):
        step(order.issue_document, shipment_id="S-1", kind=kind, number=f"{kind}-1")
        for status in ("reviewed", "submitted"):
            step(order.change_document_status, shipment_id="S-1", kind=kind, status=status)
    step(order.dispatch, shipment_id="S-1", tracking_number="SF1")
    step(order.deliver, shipment_id="S-1", received_by="李四")
    step(
        order.invoice, invoice_number="INV-1", amount=Decimal("65.00"), issued_on=date(2026, 2, 20)
    )
    step(
        order.receive_payment,
        reference="P-1",
        amount=Decimal("30.00"),
        received_on=date(2026, 2, 25),
    )
    step(
        order.file_complaint,
        complaint_id="C-1",
        channel="phone",
        category="delivery",
        description="晚到",
        contact="王小明",
    )
    step(order.hold, reason="等待客户回复")
    return order


def snapshot_text(order: Order) -> str:
    """The snapshot of ``order`` as stored (the transcoder's JSON), pretty-printed."""
    snapshot = Snapshot.take(order)
    state = json.loads(transcoder().encode(snapshot.state))
    plain = {
        "topic": snapshot.topic,
        "originator_id": str(snapshot.originator_id),
        "originator_version": snapshot.originator_version,
        "timestamp": snapshot.timestamp.isoformat(),
        "state": state,
    }
    return json.dumps(plain, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def load_snapshot(path: Path) -> Order:
    """The order a stored snapshot file restores (through the library's ``mutate``)."""
    plain = json.loads(path.read_text(encoding="utf-8"))
    state = transcoder().decode(json.dumps(plain["state"]).encode())
    snapshot = Snapshot(
        originator_id=UUID(plain["originator_id"]),
        originator_version=plain["originator_version"],
        timestamp=datetime.fromisoformat(plain["timestamp"]),
        topic=plain["topic"],
        state=state,
    )
    order = snapshot.mutate(None)
    assert isinstance(order, Order)
    return order


def state_of(order: Order) -> dict[str, Any]:
    return {k: v for k, v in vars(order).items() if k != "_pending_events"}


def test_a_snapshot_written_by_the_first_state_shape_loads_as_todays_order() -> None:
    live = story()
    loaded = load_snapshot(FIXTURES / "snapshot_v1.json")
    assert loaded.version == live.version
    assert describe(loaded) == describe(live)
    assert state_of(loaded) == state_of(live)
    assert loaded.stage == live.stage == "on_hold"
    # The restored order goes on like the live one.
    for order in (live, loaded):
        with stamped(Stamp(T0 + timedelta(days=30), {"actor": "fixture"})):
            order.release(reason="客户已回复")
            order.resolve_complaint(complaint_id="C-1", resolution="补偿运费")
    assert describe(loaded) == describe(live)
    assert loaded.stage == "invoiced"


def test_every_state_shape_ever_written_has_a_fixture_and_an_upcast_to_today() -> None:
    """Changing the state's attributes (``state.OrderState``) without raising
    ``Order.class_version`` fails here: a snapshot of the old shape would
    restore an order lacking the new attributes."""
    version = getattr(Order, "class_version", 1)
    today = set(state_of(story()))
    for shape in range(1, version + 1):
        path = FIXTURES / f"snapshot_v{shape}.json"
        assert path.exists(), f"no snapshot of state shape {shape} is kept ({path.name})"
        written = set(json.loads(path.read_text(encoding="utf-8"))["state"]) - {"class_version"}
        if shape < version:
            assert hasattr(Order, f"upcast_v{shape}_v{shape + 1}")
        else:
            assert written == {k for k in today if k not in ("_id", "_version")}, (
                "the order's state changed shape: raise Order.class_version, add "
                f"upcast_v{version}_v{version + 1} and a snapshot_v{version + 1}.json "
                "(docs/architecture.md, 'Changing the state')"
            )
        assert set(state_of(load_snapshot(path))) == today


if __name__ == "__main__":  # writes the fixture of the current shape: once per shape
    shape = int(sys.argv[1])
    target = FIXTURES / f"snapshot_v{shape}.json"
    if target.exists():
        raise SystemExit(f"{target.name} exists; a kept snapshot is never rewritten")
    target.write_text(snapshot_text(story()), encoding="utf-8")
