"""The money rule on a bare Order: a line's amount is quantity × unit price
rounded once, half-up, to the currency's minor unit; the total is the sum of
the line amounts; shipped, delivered and prepayment values are derived the
same way; amounts stay below 10^13 and business dates in their range. And
the property that matters to finance: invoicing what is allowed always
reaches an order that can be settled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import (
    FIRST_DAY,
    LAST_DAY,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
    add_days,
    line_amount,
    minor_unit,
    round_money,
)
from strategies import (
    PROMISED,
    assert_refused,
    confirmed,
    delivered,
    lines_of,
    next_number,
    ready_shipment,
    received,
    replay,
    shipped,
    verified,
)

D = Decimal


# -- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "currency", "amount"),
    [
        (3, "1.2345", "CNY", "3.70"),  # 3.7035: rounded once, not kept at 4 decimals
        (1, "0.125", "CNY", "0.13"),  # half-up, as invoices are (not half-even's 0.12)
        (1, "0.005", "CNY", "0.01"),
        (3, "0.5", "JPY", "2"),  # 1.5 yen: whole yen
        (3, "1.2345", "KWD", "3.704"),  # fils: 3 decimals
        (7, "100", "XYZ", "700.00"),  # a code not in the table has 2
    ],
)
def test_a_line_amount_is_rounded_once_half_up_to_the_minor_unit(
    quantity: int, price: str, currency: str, amount: str
) -> None:
    assert str(line_amount(quantity, D(price), currency)) == amount
    order = received(lines_of(("A", quantity, price)), currency=currency)
    assert str(order.total) == amount
    assert describe(order)["lines"][0]["amount"] == amount


def test_the_total_is_the_sum_of_the_line_amounts_not_the_rounded_sum() -> None:
    order = received(lines_of(("A", 1, "0.005"), ("B", 1, "0.005")))
    assert order.total == D("0.02")  # 0.01 + 0.01, where round(0.010) would be 0.01
    assert describe(order)["facets"]["total"] == "0.02"


def test_unit_prices_are_shown_with_their_4_decimals() -> None:
    order = received(lines_of(("A", 3, "1.2345"), ("B", 1, "100"), ("C", 2, "0.5")))
    shown = {line["sku"]: line["unit_price"] for line in describe(order)["lines"]}
    assert shown == {"A": "1.2345", "B": "100.0000", "C": "0.5000"}
    assert order.lines["B"].unit_price == D("100")  # what was recorded stays as it was
    confirmed_order = confirmed(lines_of(("A", 1, "1")))
    confirmed_order.order_purchase(
        po_number="PO-1", supplier="寧波", items=[PurchaseItem("布料", 2, D("3.5"))]
    )
    items = describe(confirmed_order)["purchases"][0]["items"]
    assert items == [{"part": "布料", "quantity": 2, "unit_cost": "3.5000"}]


def test_shipped_and_delivered_values_round_each_lines_units_once() -> None:
    order = confirmed(lines_of(("A", 2, "0.005")))
    delivered(order, "S1", [SkuQty("A", 1)])
    assert order.delivered_value == D("0.01")  # 0.005 rounds up
    delivered(order, "S2", [SkuQty("A", 1)])
    # 2 × 0.005 = 0.010: the line's value, not 0.01 per shipment added up to 0.02
    assert order.shipped_value == order.delivered_value == order.total == D("0.01")


def test_an_order_at_1_2345_times_3_is_invoiced_3_70_paid_and_settled() -> None:
    order = confirmed(lines_of(("A", 3, "1.2345")))
    delivered(order, "S1", [SkuQty("A", 1)])
    delivered(order, "S2", [SkuQty("A", 2)])
    assert order.invoice_cap() == order.total == D("3.70")
    order.invoice(invoice_number="INV-1", amount=D("3.70"), issued_on=PROMISED)
    assert_refused(
        order,
        "cannot_invoice_more_than_allowed",
        lambda: order.invoice(invoice_number="INV-2", amount=D("0.01"), issued_on=PROMISED),
    )
    order.receive_payment(reference="P-1", amount=D("3.70"), received_on=PROMISED)
    order.settle()
    assert order.stage == "settled"
    assert describe(replay(order)) == describe(order)


def test_a_jpy_order_is_invoiced_and_paid_in_whole_yen() -> None:
    order = confirmed(lines_of(("A", 3, "0.5")), currency="JPY", prepayment="100")
    refusal = assert_refused(
        order,
        "amount_has_too_many_decimals",
        lambda: order.invoice(invoice_number="INV-1", amount=D("1.50"), issued_on=PROMISED),
    )
    assert refusal.details["currency"] == "JPY" and refusal.details["decimals"] == 0
    order.invoice(invoice_number="INV-1", amount=D("2"), issued_on=PROMISED)
    assert_refused(
        order,
        "amount_has_too_many_decimals",
        lambda: order.receive_payment(reference="P", amount=D("0.5"), received_on=PROMISED),
    )
    order.receive_payment(reference="P", amount=D("2.00"), received_on=PROMISED)  # = 2 yen
    assert order.outstanding == 0


def test_a_compensation_is_in_whole_minor_units_so_it_can_be_credited() -> None:
    order = confirmed(lines_of(("A", 3, "100")), currency="JPY", prepayment="100")
    order.raise_quality_issue(
        issue_id="QI-1", severity="minor", category="外觀", description="刮痕"
    )
    assert_refused(
        order,
        "amount_has_too_many_decimals",
        lambda: order.resolve_quality_issue(
            issue_id="QI-1", resolution="compensation", amount=D("12.50")
        ),
    )
    order.resolve_quality_issue(issue_id="QI-1", resolution="compensation", amount=D("12"))
    order.invoice(invoice_number="INV-1", amount=D("300"), issued_on=PROMISED)
    order.issue_credit_note(credit_note_number="CN-1", amount=D("12"), reason="補償")
    assert order.net_invoiced == D("288")


def test_the_prepayment_limit_is_rounded_like_an_amount() -> None:
    order = confirmed(lines_of(("A", 1, "3.71")), prepayment="50")  # 1.855
    assert order.prepayment_limit() == order.invoice_cap() == D("1.86")
    order.invoice(invoice_number="INV-1", amount=D("1.86"), issued_on=PROMISED)


# -- why an invoice is refused (item 4) ---------------------------------------------------


def test_a_refusal_before_delivery_says_it_is_the_prepayment_limit_and_the_share() -> None:
    order = verified(lines_of(("A", 3, "1.2345")))
    order.confirm(promised_date=PROMISED, payment_terms=PaymentTerms())  # no prepayment agreed
    refusal = assert_refused(
        order,
        "cannot_invoice_more_than_allowed",
        lambda: order.invoice(invoice_number="INV-1", amount=D("1.00"), issued_on=PROMISED),
    )
    assert "pre-delivery prepayment limit" in refusal.message
    assert "0% of 3.70 = 0.00" in refusal.message and "at most 0.00 more" in refusal.message
    assert refusal.details["limit"] == "prepayment"
    assert refusal.details["prepayment_percent"] == "0"
    assert refusal.details["prepayment_limit"] == "0.00"


def test_a_refusal_with_a_share_agreed_names_the_share_and_what_was_delivered() -> None:
    order = confirmed(prepayment="30")  # 72.50
    delivered(order, "S1", [SkuQty("A", 2)])  # 5.00 delivered
    order.invoice(invoice_number="INV-1", amount=D("20.00"), issued_on=PROMISED)
    refusal = assert_refused(
        order,
        "cannot_invoice_more_than_allowed",
        lambda: order.invoice(invoice_number="INV-2", amount=D("10.00"), issued_on=PROMISED),
    )
    assert "30% of 72.50 = 21.75" in refusal.message
    assert "value delivered so far (5.00)" in refusal.message
    assert "at most 6.75 more" in refusal.message and "20.00 is already invoiced" in refusal.message
    assert refusal.details["delivered_value"] == "5.00"


def test_a_refusal_at_the_order_total_says_the_total_is_reached() -> None:
    order = confirmed(prepayment="100")
    order.invoice(invoice_number="INV-1", amount=D("72.50"), issued_on=PROMISED)
    refusal = assert_refused(
        order,
        "cannot_invoice_more_than_allowed",
        lambda: order.invoice(invoice_number="INV-2", amount=D("0.01"), issued_on=PROMISED),
    )
    assert refusal.details["limit"] == "order_total"
    assert "the order total is 72.50" in refusal.message
    assert "prepayment" not in refusal.message


# -- bounds (item 2) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "currency", "field"),
    [
        ((("A", 10**9, "9999999999999.9999"),), "CNY", "lines[0].amount"),
        ((("A", 1, "9999999999999.9999"),), "CNY", "lines[0].amount"),  # rounds up to 10^13
        ((("A", 1, "9999999999999.5"),), "JPY", "lines[0].amount"),
        ((("A", 1, "1"), ("B", 2, "5000000000000")), "CNY", "lines[1].amount"),
        ((("A", 1, "6000000000000"), ("B", 1, "6000000000000")), "CNY", "total"),
    ],
)
def test_a_line_amount_or_total_of_10_13_or_more_is_refused_naming_the_field(
    spec: tuple[tuple[str, int, str], ...], currency: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        received(lines_of(*spec), currency=currency)
    assert refused.value.code == "amount_too_large"
    assert refused.value.details["field"] == field
    assert refused.value.details["limit"] == "10000000000000"


def test_just_below_the_bound_is_accepted() -> None:
    order = received(lines_of(("A", 1, "4999999999999.99"), ("B", 1, "4999999999999.99")))
    assert order.total == D("9999999999999.98")


def test_an_amendment_beyond_the_bound_is_refused() -> None:
    order = verified()
    refusal = assert_refused(
        order,
        "amount_too_large",
        lambda: order.amend(reason="more", lines=lines_of(("A", 10**9, "10000"))),
    )
    assert refusal.details["field"] == "lines[0].amount"


def test_a_merge_whose_total_would_reach_the_bound_is_refused_and_changes_nothing() -> None:
    first = received(lines_of(("A", 1, "6000000000000")))
    second = received(lines_of(("A", 1, "6000000000000")))
    before = [describe(first), describe(second)]
    with pytest.raises(DomainError) as refused:
        Order.merge([first, second], order_id=uuid4(), number=next_number())
    assert refused.value.code == "amount_too_large"
    assert refused.value.details["field"] == "lines[0].amount"
    assert "the merged order" in refused.value.message
    assert [describe(first), describe(second)] == before
    assert len(first.pending_events) == len(second.pending_events) == 1


# -- business dates (item 3) -----------------------------------------------------------------

DateCommand = Callable[[Order, date], Any]

DATED_COMMANDS: dict[str, tuple[str, DateCommand]] = {
    "confirm": (
        "verified",
        lambda o, d: o.confirm(promised_date=d, payment_terms=PaymentTerms()),
    ),
    "amend": ("verified", lambda o, d: o.amend(reason="客户改期", requested_date=d)),
    "promise": ("confirmed", lambda o, d: o.promise_date(d, "船期")),
    "schedule": (
        "confirmed",
        lambda o, d: o.schedule_shipment(
            shipment_id="S9", planned_date=d, lines=[SkuQty("A", 1)], carrier="x", mode="road"
        ),
    ),
    "reschedule": (
        "planned",
        lambda o, d: o.reschedule_shipment(shipment_id="S1", planned_date=d, reason="改期"),
    ),
    "purchase": (
        "confirmed",
        lambda o, d: o.order_purchase(
            po_number="PO-9", supplier="x", items=[PurchaseItem("part", 1)], eta=d
        ),
    ),
    "invoice": (
        "prepaid",
        lambda o, d: o.invoice(invoice_number="INV-9", amount=D("1.00"), issued_on=d),
    ),
    "payment": (
        "invoiced",
        lambda o, d: o.receive_payment(reference="P-9", amount=D("1.00"), received_on=d),
    ),
}


def _order_for(state: str) -> Order:
    if state == "verified":
        return verified()
    order = confirmed(prepayment="100" if state in ("prepaid", "invoiced") else "0")
    if state == "planned":
        ready_shipment(order, "S1")
    if state == "invoiced":
        order.invoice(invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED)
    return order


@pytest.mark.parametrize("name", DATED_COMMANDS)
@pytest.mark.parametrize("day", [date(1999, 12, 31), date(2100, 1, 1), date(9999, 12, 31)])
def test_a_business_date_outside_its_range_is_refused(name: str, day: date) -> None:
    state, command = DATED_COMMANDS[name]
    order = _order_for(state)
    refusal = assert_refused(order, "date_out_of_range", lambda: command(order, day))
    assert refusal.details["first"] == "2000-01-01" and refusal.details["last"] == "2099-12-31"


@pytest.mark.parametrize("name", DATED_COMMANDS)
@pytest.mark.parametrize("day", [FIRST_DAY, LAST_DAY])
def test_the_ends_of_the_range_are_business_dates(name: str, day: date) -> None:
    state, command = DATED_COMMANDS[name]
    order = _order_for(state)
    command(order, day)
    assert describe(replay(order)) == describe(order)


def test_a_receipt_with_a_requested_date_outside_the_range_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        Order.receive(
            order_id=uuid4(),
            number=next_number(),
            channel="phone",
            customer=received().customer,
            lines=lines_of(("A", 1, "1")),
            delivery=received().delivery,
            requested_date=date(9999, 12, 31),
        )
    assert refused.value.code == "date_out_of_range"
    assert refused.value.details["field"] == "requested_date"


@pytest.mark.parametrize(
    ("day", "days", "result"),
    [
        (date(2099, 12, 31), 365, date(2100, 12, 31)),
        (date(9999, 12, 31), 30, date(9999, 12, 31)),  # held at the calendar's end
        (date(9999, 12, 1), 60, date(9999, 12, 31)),
        (date(1, 1, 2), -5, date(1, 1, 1)),
        (date(2026, 3, 1), -1, date(2026, 2, 28)),
    ],
)
def test_adding_days_holds_at_the_calendars_ends(day: date, days: int, result: date) -> None:
    assert add_days(day, days) == result


# -- the property: what may be invoiced can always be settled --------------------------------

CURRENCIES = ("CNY", "JPY", "KWD", "USD")
unit_prices = st.decimals(min_value=D("0.0001"), max_value=D("9999.9999"), places=4)


@st.composite
def priced_lines(draw: st.DrawFn) -> list[Line]:
    skus = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=4, unique=True))
    return [
        Line(sku, f"产品 {sku}", draw(st.integers(1, 60)), draw(unit_prices), "M", "")
        for sku in skus
    ]


def invoice_allowed(order: Order, chunks: int, issued: list[int]) -> None:
    """Invoice what may be invoiced now, in up to ``chunks`` invoices."""
    for _ in range(chunks):
        room = order.invoice_cap() - order.net_invoiced
        if room <= 0:
            return
        part = round_money(room / 2, order.currency) if chunks > 1 else room
        amount = part if part > 0 else room
        issued[0] += 1
        order.invoice(invoice_number=f"INV-{issued[0]}", amount=amount, issued_on=PROMISED)


@given(
    lines=priced_lines(),
    currency=st.sampled_from(CURRENCIES),
    prepayment=st.decimals(min_value=0, max_value=100, places=2),
    data=st.data(),
)
def test_invoicing_what_is_allowed_always_reaches_a_settleable_order(
    lines: list[Line], currency: str, prepayment: Decimal, data: st.DataObject
) -> None:
    order = confirmed(lines, currency=currency, prepayment=str(prepayment))
    places = minor_unit(currency)
    assert all(
        -int(D(line["amount"]).as_tuple().exponent) == places for line in describe(order)["lines"]
    )
    assert order.total == sum(
        (line_amount(line.quantity, line.unit_price, currency) for line in lines), D(0)
    )
    issued = [0]
    invoice_allowed(order, data.draw(st.integers(1, 2), label="prepayment invoices"), issued)
    shipment = 0
    while any(line.open for line in order.lines.values()):
        sku, line = data.draw(
            st.sampled_from([(s, ln) for s, ln in order.lines.items() if ln.open])
        )
        if data.draw(st.integers(0, 5), label="short-close") == 0:
            order.short_close(sku=sku, quantity=line.open, reason="停产")
            continue
        quantity = data.draw(st.integers(1, line.open), label=f"ship {sku}")
        shipment += 1
        delivered(order, f"S{shipment}", [SkuQty(sku, quantity)])
        invoice_allowed(order, data.draw(st.integers(0, 2), label="invoices"), issued)
    invoice_allowed(order, 1, issued)
    note(f"total {order.total}, shipped {order.shipped_value}, invoiced {order.net_invoiced}")
    assert order.net_invoiced >= order.shipped_value
    if order.outstanding:
        order.receive_payment(reference="P", amount=order.outstanding, received_on=PROMISED)
    order.settle()
    assert order.stage == "settled"
    assert describe(replay(order)) == describe(order)


def test_shipped_goods_priced_to_4_decimals_are_invoiced_exactly_after_a_prepayment() -> None:
    order = confirmed(lines_of(("A", 7, "0.3333"), ("B", 3, "1.0005")), prepayment="33.33")
    assert order.total == D("2.33") + D("3.00")  # 2.3331 and 3.0015, each rounded once
    order.invoice(invoice_number="INV-P", amount=order.prepayment_limit(), issued_on=PROMISED)
    assert order.invoiced_amount == D("1.78")  # 33.33% of 5.33 = 1.776489
    shipped(order, "S1", [SkuQty("A", 4)])
    order.deliver(shipment_id="S1", received_by="李四")
    order.short_close(sku="B", quantity=3, reason="停产")
    delivered(order, "S2", [SkuQty("A", 3)])
    assert order.shipped_value == D("2.33")
    order.invoice(
        invoice_number="INV-F", amount=order.shipped_value - order.invoiced_amount,
        issued_on=PROMISED,
    )  # fmt: skip
    order.receive_payment(reference="P", amount=order.outstanding, received_on=PROMISED)
    order.settle()
    assert order.stage == "settled" and order.paid_amount == D("2.33")
