"""Properties of split and merge: quantities are conserved exactly, and a
refused split or merge leaves every order it touched unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import Line, PaymentTerms, SkuQty
from strategies import (
    ALL_CHECKS_PASS,
    CUSTOMER,
    OTHER_CUSTOMER,
    PROMISED,
    confirmed,
    next_number,
    order_lines,
    received,
    replay,
    shipped,
    split_parts,
)

D0 = Decimal(0)


def _due(order: Order) -> dict[str, int]:
    return {sku: line.due for sku, line in order.lines.items() if line.due > 0}


def _quantities(order: Order) -> dict[str, int]:
    return {sku: line.quantity for sku, line in order.lines.items()}


def _sum(orders: list[Order]) -> dict[str, int]:
    total: dict[str, int] = {}
    for order in orders:
        for sku, quantity in _quantities(order).items():
            total[sku] = total.get(sku, 0) + quantity
    return total


def _snapshot(orders: list[Order]) -> list[tuple[dict[str, Any], int, int]]:
    return [(describe(o), o.version, len(o.pending_events)) for o in orders]


@st.composite
def order_with_write_offs(draw: st.DrawFn) -> Order:
    """A confirmed order, some of whose lines are partly written off."""
    order = confirmed(draw(order_lines(max_size=5)))
    for sku, line in list(order.lines.items()):
        cut = draw(st.integers(0, line.quantity))
        if cut:
            order.short_close(sku=sku, quantity=cut, reason="停产")
    assume(_due(order))
    return order


def _split(order: Order, parts: list[list[SkuQty]]) -> list[Order]:
    return order.split([(uuid4(), next_number(), part) for part in parts])


@given(order=order_with_write_offs(), data=st.data())
def test_split_conserves_every_lines_open_quantity(order: Order, data: st.DataObject) -> None:
    due = _due(order)
    parts = data.draw(split_parts(due))
    assume(all(parts))
    children = _split(order, parts)
    assert _sum(children) == due
    for child, part in zip(children, parts, strict=True):
        assert _quantities(child) == {item.sku: item.quantity for item in part}
        for sku, line in child.lines.items():
            assert line.unit_price == order.lines[sku].unit_price
            assert (line.shipped, line.short_closed, line.invoiced, line.allocated) == (0, 0, 0, {})
    assert sum((c.total for c in children), start=D0) == sum(
        (order.lines[s].unit_price * q for s, q in due.items()), start=D0
    )
    assert order.stage == "split"
    assert describe(replay(order)) == describe(order)


@given(order=order_with_write_offs(), data=st.data())
def test_a_split_that_does_not_add_up_changes_nothing(order: Order, data: st.DataObject) -> None:
    due = _due(order)
    parts = data.draw(split_parts(due))
    assume(all(parts))
    i = data.draw(st.integers(0, len(parts) - 1))
    j = data.draw(st.integers(0, len(parts[i]) - 1))
    delta = data.draw(st.sampled_from([-1, 1, 2]))
    item = parts[i][j]
    assume(item.quantity + delta != 0)
    parts[i][j] = SkuQty(item.sku, item.quantity + delta)
    before = _snapshot([order])
    with pytest.raises(DomainError) as refused:
        _split(order, parts)
    assert refused.value.code in ("split_must_conserve_lines", "quantity_must_be_positive")
    assert _snapshot([order]) == before


@given(order=order_with_write_offs(), data=st.data())
def test_a_split_of_a_held_order_changes_nothing(order: Order, data: st.DataObject) -> None:
    parts = data.draw(split_parts(_due(order)))
    assume(all(parts))
    order.hold("审查")
    before = _snapshot([order])
    with pytest.raises(DomainError) as refused:
        _split(order, parts)
    assert refused.value.code == "order_on_hold"
    assert _snapshot([order]) == before


@st.composite
def mergeable_orders(draw: st.DrawFn) -> list[Order]:
    """2–4 orders of one customer; a SKU costs the same in all of them."""
    prices: dict[str, Any] = {}
    orders = []
    for _ in range(draw(st.integers(2, 4))):
        lines = [
            Line(ln.sku, ln.name, ln.quantity, prices.setdefault(ln.sku, ln.unit_price))
            for ln in draw(order_lines())
        ]
        order = draw(st.sampled_from([received, confirmed]))(lines)
        if order.status == "confirmed" and draw(st.booleans()):
            sku, line = next(iter(order.lines.items()))
            order.short_close(sku=sku, quantity=draw(st.integers(1, line.quantity)), reason="x")
        orders.append(order)
    return orders


def _sum_due(orders: list[Order]) -> dict[str, int]:
    total: dict[str, int] = {}
    for order in orders:
        for sku, quantity in _due(order).items():
            total[sku] = total.get(sku, 0) + quantity
    return total


@given(sources=mergeable_orders())
def test_merge_conserves_the_sum_of_the_sources(sources: list[Order]) -> None:
    expected = _sum_due(sources)
    merged = Order.merge(sources, order_id=uuid4(), number=next_number())
    assert _quantities(merged) == expected
    prices = {sku: line.unit_price for s in sources for sku, line in s.lines.items()}
    assert merged.total == sum((prices[sku] * q for sku, q in expected.items()), start=D0)
    assert all(merged.lines[sku].unit_price == prices[sku] for sku in expected)
    assert merged.merged_from == [str(s.id) for s in sources]
    assert all(s.stage == "merged" and s.merged_into == str(merged.id) for s in sources)
    assert all(describe(replay(s)) == describe(s) for s in sources)


@given(sources=mergeable_orders(), data=st.data())
def test_a_refused_merge_changes_no_order(sources: list[Order], data: st.DataObject) -> None:
    victim = sources[data.draw(st.integers(0, len(sources) - 1))]
    spoiler = data.draw(
        st.sampled_from(["hold", "customer", "currency", "price", "allocated", "shipped"])
    )
    if spoiler == "hold":
        victim.hold("审查")
    elif spoiler in ("customer", "currency", "price"):
        line = next(iter(victim.lines.values()))
        other = received(
            [
                Line(
                    line.sku,
                    line.name,
                    1,
                    line.unit_price + 1 if spoiler == "price" else line.unit_price,
                )
            ],
            customer=OTHER_CUSTOMER if spoiler == "customer" else CUSTOMER,
            currency="USD" if spoiler == "currency" else "CNY",
        )
        sources = [*sources, other]
    else:
        if victim.status != "confirmed":
            victim.verify(dict(ALL_CHECKS_PASS))
            victim.confirm(promised_date=PROMISED, payment_terms=PaymentTerms())
        sku = next(iter(victim.lines))
        assume(victim.lines[sku].open > 0)  # a line written off whole has nothing to allocate
        if spoiler == "allocated":
            victim.allocate_stock(sku=sku, quantity=1, warehouse="WH")
        else:
            shipped(victim, "S1", [SkuQty(sku, 1)])
    before = _snapshot(sources)
    with pytest.raises(DomainError):
        Order.merge(sources, order_id=uuid4(), number=next_number())
    assert _snapshot(sources) == before
