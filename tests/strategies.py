"""Shared builders and hypothesis strategies for orders.

The builders drive an ``Order`` (no store) to a given point of its life so
that narrative tests read as the story they tell; the strategies draw
plausible lines and split parts for property-based tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import uuid4

from hypothesis import strategies as st

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    SkuQty,
)

ALL_CHECKS_PASS = {"customer": True, "product": True, "delivery": True}
CUSTOMER = Customer("王小明", "13800138000", "wang@example.cn", "上海市浦东新区世纪大道100号")
OTHER_CUSTOMER = Customer("María González", "+34 600 000 000", "maria@example.es", "Madrid")
DELIVERY = Delivery("上海市浦东新区世纪大道100号", "李四", "13900139000", "road")
PROMISED = date(2026, 3, 1)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_numbers = iter(range(1, 10**9))


def next_number() -> str:
    return f"SO-2026-{next(_numbers):06d}"


def lines_of(*spec: tuple[str, int, str]) -> list[Line]:
    """lines_of(("A", 10, "2.50"), ...) -> Lines named after their SKU."""
    return [
        Line(sku, f"产品 {sku}", qty, Decimal(price), "M-1", "标准") for sku, qty, price in spec
    ]


STANDARD_LINES = (("A", 10, "2.50"), ("B", 4, "10.00"), ("C", 6, "1.25"))  # total 72.50


def received(
    lines: Sequence[Line] | None = None,
    *,
    customer: Customer = CUSTOMER,
    channel: str = "phone",
    currency: str = "CNY",
    delivery: Delivery = DELIVERY,
) -> Order:
    return Order.receive(
        order_id=uuid4(),
        number=next_number(),
        channel=channel,
        customer=customer,
        lines=list(lines) if lines is not None else lines_of(*STANDARD_LINES),
        currency=currency,
        delivery=delivery,
        requested_date=date(2026, 2, 20),
    )


def verified(lines: Sequence[Line] | None = None, **kw: Any) -> Order:
    order = received(lines, **kw)
    order.verify(dict(ALL_CHECKS_PASS))
    return order


def confirmed(lines: Sequence[Line] | None = None, *, prepayment: str = "0", **kw: Any) -> Order:
    order = verified(lines, **kw)
    order.confirm(
        promised_date=PROMISED,
        payment_terms=PaymentTerms("bank_transfer", 30, Decimal(prepayment)),
        invoice_info={"title": "上海某某有限公司", "tax_id": "91310000MA1FL0000X"},
        special_requirements="木箱包装",
        contract_ref="HT-2026-001",
    )
    return order


def submit_documents(order: Order, shipment_id: str, kinds: Sequence[str]) -> None:
    """Issue each document and walk it to submitted."""
    for kind in kinds:
        order.issue_document(shipment_id=shipment_id, kind=kind, number=f"{kind}-{shipment_id}")
        for status in ("reviewed", "submitted"):
            order.change_document_status(shipment_id=shipment_id, kind=kind, status=status)


def ready_shipment(
    order: Order,
    shipment_id: str,
    lines: Sequence[SkuQty] | None = None,
    *,
    mode: str = "road",
    export: bool = False,
) -> None:
    """Plan a shipment (all open lines unless given) with its documents submitted."""
    if lines is None:
        planned = order.planned_quantities()
        lines = [
            SkuQty(sku, line.due - planned.get(sku, 0))
            for sku, line in order.lines.items()
            if line.due - planned.get(sku, 0) > 0
        ]
    order.schedule_shipment(
        shipment_id=shipment_id,
        planned_date=date(2026, 2, 15),
        lines=list(lines),
        carrier="顺丰速运",
        mode=mode,
        export=export,
    )
    kinds = ["dispatch_note", "bill_of_lading" if mode == "sea" else "waybill"]
    if export:
        kinds.append("customs_declaration")
    submit_documents(order, shipment_id, kinds)


def shipped(order: Order, shipment_id: str, lines: Sequence[SkuQty] | None = None) -> None:
    ready_shipment(order, shipment_id, lines)
    order.dispatch(shipment_id=shipment_id, tracking_number=f"SF{shipment_id}")


def delivered(order: Order, shipment_id: str, lines: Sequence[SkuQty] | None = None) -> None:
    shipped(order, shipment_id, lines)
    order.deliver(shipment_id=shipment_id, received_by="李四")


def replay(order: Order) -> Order:
    """Fold the order's pending events into a fresh aggregate (collects them)."""
    rebuilt: Any = None
    for event in order.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return cast(Order, rebuilt)


def assert_refused(order: Order, code: str, command: Callable[[], object]) -> DomainError:
    """The command raises DomainError(code) and leaves the order exactly as it was."""
    before = describe(order)
    version = order.version
    pending = len(order.pending_events)
    refusal: DomainError | None = None
    try:
        command()
    except DomainError as error:
        refusal = error
    if refusal is None:
        raise AssertionError(f"expected the command to be refused with {code!r}")
    assert refusal.code == code, f"expected {code!r}, got {refusal.code!r}: {refusal.message}"
    assert refusal.message
    assert order.version == version
    assert len(order.pending_events) == pending
    assert describe(order) == before
    return refusal


def at(moment: datetime, **meta: Any) -> Any:
    """A stamp context for events triggered at a given moment."""
    return stamped(Stamp(moment, meta))


# -- hypothesis strategies -------------------------------------------------------

skus = st.sampled_from(["A", "B", "C", "D", "E", "F"])
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
quantities = st.integers(min_value=1, max_value=50)


@st.composite
def order_lines(draw: st.DrawFn, min_size: int = 1, max_size: int = 4) -> list[Line]:
    chosen = draw(st.lists(skus, min_size=min_size, max_size=max_size, unique=True))
    return [Line(sku, f"产品 {sku}", draw(quantities), draw(prices), "M", "") for sku in chosen]


@st.composite
def split_parts(draw: st.DrawFn, due: dict[str, int], max_parts: int = 4) -> list[list[SkuQty]]:
    """Parts that add up exactly to ``due``: each unit goes to one of n parts."""
    n = draw(st.integers(min_value=2, max_value=max_parts))
    buckets: list[dict[str, int]] = [{} for _ in range(n)]
    for sku, quantity in sorted(due.items()):
        cuts = sorted(draw(st.lists(st.integers(0, quantity), min_size=n - 1, max_size=n - 1)))
        bounds = [0, *cuts, quantity]
        for i in range(n):
            share = bounds[i + 1] - bounds[i]
            if share:
                buckets[i][sku] = share
    # every part needs a line: give an empty part one unit from the fullest part
    for i, bucket in enumerate(buckets):
        if bucket:
            continue
        donor = max(range(n), key=lambda j: sum(buckets[j].values()))
        sku = max(buckets[donor], key=lambda s: buckets[donor][s])
        if buckets[donor][sku] <= 1 and sum(buckets[donor].values()) <= 1:
            continue  # nothing to spare; the caller filters such draws out
        buckets[donor][sku] -= 1
        if not buckets[donor][sku]:
            del buckets[donor][sku]
        buckets[i][sku] = 1
    return [[SkuQty(sku, q) for sku, q in sorted(b.items())] for b in buckets]
