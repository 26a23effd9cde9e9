"""The order follow-up process, section by section, told as specifications.

Each class follows one stage of the process (docs/domain.md) on a bare
``Order`` aggregate: what the merchandiser records, what the order then
says, and which guard refuses what (with its stable code, writing nothing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import uuid4

import pytest

from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import (
    CHANNELS,
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
)
from strategies import (
    ALL_CHECKS_PASS,
    CUSTOMER,
    DELIVERY,
    OTHER_CUSTOMER,
    PROMISED,
    T0,
    assert_refused,
    at,
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


def event_types(order: Order) -> list[str]:
    return [type(event).__name__ for event in order.pending_events]


# -- 1 receiving ------------------------------------------------------------------------


class TestReceiving:
    @pytest.mark.parametrize("channel", CHANNELS)
    def test_records_an_order_received_by_each_channel(self, channel: str) -> None:
        order = received(channel=channel)
        assert event_types(order) == ["OrderReceived"]
        assert order.channel == channel
        assert order.version == 1
        assert order.stage == "received"
        assert order.total == D("72.50")
        assert [line.sku for line in order.lines.values()] == ["A", "B", "C"]

    def test_keeps_chinese_and_latin_text_exactly(self) -> None:
        order = received(customer=OTHER_CUSTOMER)
        assert order.customer == OTHER_CUSTOMER
        assert received().customer.name == "王小明"
        assert order.delivery.consignee == "李四"

    def test_event_carries_the_stamp_time_and_metadata(self) -> None:
        with at(T0, actor="sales-1", correlation_id="c-1", causation_id="", reason="电话下单"):
            order = received()
        event = order.pending_events[0]
        assert event.timestamp == T0
        assert event.meta == {
            "actor": "sales-1",
            "correlation_id": "c-1",
            "causation_id": "",
            "reason": "电话下单",
        }

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"channel": "fax"}, "invalid_channel"),
            ({"lines": []}, "order_needs_a_line"),
            ({"lines": lines_of(("A", 1, "1"), ("A", 2, "1"))}, "duplicate_sku"),
            ({"lines": lines_of(("A", 0, "1"))}, "quantity_must_be_positive"),
            ({"lines": lines_of(("A", -3, "1"))}, "quantity_must_be_positive"),
            ({"lines": lines_of(("A", 1, "-0.01"))}, "amount_must_not_be_negative"),
            ({"lines": lines_of(("A", 1, "NaN"))}, "amount_must_not_be_negative"),
            ({"lines": lines_of(("A", 1, "0.00001"))}, "amount_has_too_many_decimals"),
            ({"lines": lines_of(("A", 10**9 + 1, "1"))}, "quantity_too_large"),
            ({"lines": [Line(" ", "x", 1, D(1))]}, "missing_value"),
            ({"customer": Customer("  ")}, "missing_value"),
            ({"currency": "rmb"}, "invalid_currency"),
            ({"currency": "CNYY"}, "invalid_currency"),
            ({"delivery": Delivery("", "李四")}, "missing_value"),
            ({"delivery": Delivery("上海", "")}, "missing_value"),
            ({"delivery": Delivery("上海", "李四", "", "teleport")}, "invalid_transport_mode"),
        ],
    )
    def test_refuses_an_incomplete_order(self, change: dict[str, object], code: str) -> None:
        args: dict[str, object] = {
            "order_id": uuid4(),
            "number": next_number(),
            "channel": "email",
            "customer": CUSTOMER,
            "lines": lines_of(("A", 1, "1")),
            "delivery": DELIVERY,
        }
        args.update(change)
        with pytest.raises(DomainError) as refused:
            Order.receive(**args)  # type: ignore[arg-type]
        assert refused.value.code == code


# -- 2 verification, amendment ---------------------------------------------------------


class TestVerification:
    def test_verifies_when_customer_product_and_delivery_check_out(self) -> None:
        order = received()
        order.verify(dict(ALL_CHECKS_PASS))
        assert event_types(order)[-1] == "OrderVerified"
        assert order.stage == "verified"
        assert order.checks == ALL_CHECKS_PASS
        assert order.problems == []

    def test_a_failed_check_rejects_the_order_naming_the_problem(self) -> None:
        order = received()
        order.verify({"customer": True, "product": False, "delivery": True})
        assert event_types(order)[-1] == "VerificationFailed"
        assert order.stage == "rejected"
        assert order.problems == ["product check failed"]

    def test_a_stated_problem_rejects_even_when_every_check_passes(self) -> None:
        order = received()
        order.verify(dict(ALL_CHECKS_PASS), problems=["型号与报价单不符"])
        assert order.stage == "rejected"
        assert order.problems == ["型号与报价单不符"]

    def test_a_rejected_order_is_amended_and_verified_again(self) -> None:
        order = received()
        order.verify({"customer": True, "product": True, "delivery": False})
        order.amend(reason="地址更正", delivery=Delivery("北京市朝阳区", "张三", "", "rail"))
        assert order.delivery.address == "北京市朝阳区"
        order.verify(dict(ALL_CHECKS_PASS))
        assert order.stage == "verified"
        assert order.problems == []
        assert event_types(order) == [
            "OrderReceived",
            "VerificationFailed",
            "OrderAmended",
            "OrderVerified",
        ]

    def test_refuses_to_verify_an_order_twice(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_awaiting_verification",
            lambda: order.verify(dict(ALL_CHECKS_PASS)),
        )

    def test_refuses_to_verify_a_confirmed_order(self) -> None:
        order = confirmed()
        assert_refused(
            order,
            "order_not_awaiting_verification",
            lambda: order.verify(dict(ALL_CHECKS_PASS)),
        )

    @pytest.mark.parametrize("checks", [{}, {"customer": True, "price": True}])
    def test_refuses_checks_of_unknown_areas(self, checks: dict[str, bool]) -> None:
        order = received()
        assert_refused(order, "invalid_checks", lambda: order.verify(checks))


class TestAmendment:
    def test_amends_lines_delivery_and_requested_date_before_production(self) -> None:
        order = confirmed()
        order.amend(
            reason="客户追加",
            lines=lines_of(("A", 20, "2.50")),
            requested_date=date(2026, 4, 1),
        )
        assert order.total == D("50.00")
        assert list(order.lines) == ["A"]
        assert order.requested_date == date(2026, 4, 1)
        assert order.pending_events[-1].reason == "客户追加"

    def test_refuses_an_amendment_that_changes_nothing(self) -> None:
        order = received()
        assert_refused(order, "nothing_to_amend", lambda: order.amend(reason="无"))

    def test_refuses_an_amendment_without_a_reason(self) -> None:
        order = received()
        assert_refused(
            order, "missing_value", lambda: order.amend(reason=" ", requested_date=PROMISED)
        )

    def test_refuses_to_amend_after_production_started(self) -> None:
        order = confirmed()
        order.progress_production(stage="裁剪", percent=10)
        assert_refused(
            order,
            "cannot_amend_after_production_started",
            lambda: order.amend(reason="晚了", requested_date=PROMISED),
        )

    def test_refuses_to_amend_lines_with_stock_allocated(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=1, warehouse="WH-SH")
        assert_refused(
            order,
            "cannot_amend_lines_with_shipments_or_allocations",
            lambda: order.amend(reason="改数量", lines=lines_of(("A", 1, "2.50"))),
        )

    def test_refuses_to_amend_lines_below_what_is_invoiced(self) -> None:
        order = confirmed(prepayment="100")
        order.invoice(invoice_number="INV-1", amount=D("50.00"), issued_on=PROMISED)
        assert_refused(
            order,
            "cannot_amend_below_invoiced",
            lambda: order.amend(reason="减量", lines=lines_of(("A", 1, "2.50"))),
        )

    def test_refuses_amended_lines_that_break_the_line_rules(self) -> None:
        order = received()
        assert_refused(order, "order_needs_a_line", lambda: order.amend(reason="x", lines=[]))


# -- 4 confirmation, date promises --------------------------------------------------------


class TestConfirmation:
    def test_records_what_was_agreed_with_the_customer(self) -> None:
        order = confirmed(prepayment="30")
        assert order.stage == "confirmed"
        assert order.payment_terms == PaymentTerms("bank_transfer", 30, D(30))
        assert order.invoice_info["tax_id"] == "91310000MA1FL0000X"
        assert order.special_requirements == "木箱包装"
        assert order.contract_ref == "HT-2026-001"
        assert order.original_promise == order.latest_promise == PROMISED

    @pytest.mark.parametrize("make", [received, lambda: _rejected()])
    def test_refuses_to_confirm_an_unverified_order(self, make: object) -> None:
        order = make()  # type: ignore[operator]
        assert_refused(
            order,
            "order_not_verified",
            lambda: order.confirm(promised_date=PROMISED, payment_terms=PaymentTerms()),
        )

    def test_refuses_to_confirm_twice(self) -> None:
        order = confirmed()
        assert_refused(
            order,
            "order_already_confirmed",
            lambda: order.confirm(promised_date=PROMISED, payment_terms=PaymentTerms()),
        )

    @pytest.mark.parametrize(
        ("terms", "code"),
        [
            (PaymentTerms(method="barter"), "invalid_payment_method"),
            (PaymentTerms(due_days=-1), "invalid_due_days"),
            (PaymentTerms(due_days=366), "invalid_due_days"),
            (PaymentTerms(prepayment_percent=D("100.01")), "invalid_prepayment_percent"),
            (PaymentTerms(prepayment_percent=D(-1)), "invalid_prepayment_percent"),
        ],
    )
    def test_refuses_impossible_payment_terms(self, terms: PaymentTerms, code: str) -> None:
        order = verified()
        assert_refused(
            order, code, lambda: order.confirm(promised_date=PROMISED, payment_terms=terms)
        )


def _rejected() -> Order:
    order = received()
    order.verify({"customer": False, "product": True, "delivery": True})
    return order


class TestDeliveryDatePromises:
    def test_keeps_the_original_and_every_later_promise(self) -> None:
        order = confirmed()
        order.promise_date(date(2026, 3, 10), reason="原料延迟")
        order.promise_date(date(2026, 3, 20), reason="产能不足")
        assert order.original_promise == PROMISED
        assert order.latest_promise == date(2026, 3, 20)
        assert [p.promised_date for p in order.promises] == [
            PROMISED,
            date(2026, 3, 10),
            date(2026, 3, 20),
        ]
        assert [p.reason for p in order.promises][1:] == ["原料延迟", "产能不足"]
        readout = describe(order)
        assert readout["original_promised_date"] == "2026-03-01"
        assert readout["latest_promised_date"] == "2026-03-20"

    def test_refuses_a_promise_before_confirmation(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_confirmed",
            lambda: order.promise_date(date(2026, 3, 10), reason="x"),
        )

    def test_refuses_a_promise_without_a_reason(self) -> None:
        order = confirmed()
        assert_refused(order, "missing_value", lambda: order.promise_date(date(2026, 3, 10), ""))


# -- 5 split and merge --------------------------------------------------------------------


def _parts(*parts: list[tuple[str, int]]) -> list[tuple[object, str, list[SkuQty]]]:
    return [(uuid4(), next_number(), [SkuQty(s, q) for s, q in part]) for part in parts]


class TestSplit:
    def test_splits_into_children_that_add_up_to_the_open_lines(self) -> None:
        order = confirmed()
        parts = _parts([("A", 10), ("B", 1)], [("B", 3), ("C", 6)])
        children = order.split(parts)  # type: ignore[arg-type]
        assert order.stage == "split"
        assert order.split_into == [str(parts[0][0]), str(parts[1][0])]
        assert event_types(order)[-1] == "OrderSplit"
        assert [c.id for c in children] == [parts[0][0], parts[1][0]]
        assert all(c.split_from == str(order.id) for c in children)
        assert all(c.stage == "received" and c.customer == order.customer for c in children)
        assert {s: ln.quantity for s, ln in children[0].lines.items()} == {"A": 10, "B": 1}
        assert {s: ln.quantity for s, ln in children[1].lines.items()} == {"B": 3, "C": 6}
        assert children[1].lines["B"].unit_price == D("10.00")
        assert sum((c.total for c in children), D(0)) == order.total

    def test_a_short_closed_remainder_is_not_split(self) -> None:
        order = confirmed()
        order.short_close(sku="C", quantity=6, reason="停产")
        children = order.split(_parts([("A", 10)], [("B", 4)]))  # type: ignore[arg-type]
        assert [list(c.lines) for c in children] == [["A"], ["B"]]

    @pytest.mark.parametrize(
        ("parts", "code"),
        [
            ([[("A", 10), ("B", 4), ("C", 6)]], "split_needs_two_parts"),
            ([[("A", 10), ("B", 4), ("C", 6)], []], "split_part_empty"),
            ([[("A", 10), ("B", 4)], [("C", 5)]], "split_must_conserve_lines"),
            ([[("A", 10), ("B", 4)], [("C", 7)]], "split_must_conserve_lines"),
            ([[("A", 10), ("B", 4)], [("C", 6), ("Z", 1)]], "unknown_sku"),
            ([[("A", 10), ("B", 4)], [("C", 6), ("C", 0)]], "duplicate_sku"),
            ([[("A", 10), ("B", 4)], [("C", 6)], [("A", 0)]], "quantity_must_be_positive"),
        ],
    )
    def test_refuses_a_split_that_does_not_conserve_lines(
        self, parts: list[list[tuple[str, int]]], code: str
    ) -> None:
        order = confirmed()
        assert_refused(order, code, lambda: order.split(_parts(*parts)))  # type: ignore[arg-type]

    def test_refuses_to_split_an_order_with_stock_allocated(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=2, warehouse="WH")
        assert_refused(
            order,
            "cannot_split_with_shipments_or_allocations",
            lambda: order.split(_parts([("A", 10)], [("B", 4), ("C", 6)])),  # type: ignore[arg-type]
        )

    def test_refuses_to_split_a_shipped_order(self) -> None:
        order = confirmed()
        shipped(order, "S1", [SkuQty("A", 10)])
        assert_refused(
            order,
            "cannot_split_shipped_order",
            lambda: order.split(_parts([("B", 4)], [("C", 6)])),  # type: ignore[arg-type]
        )

    def test_refuses_to_split_an_invoiced_order(self) -> None:
        order = confirmed(prepayment="50")
        order.invoice(invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED)
        assert_refused(
            order,
            "cannot_split_invoiced_order",
            lambda: order.split(_parts([("A", 10)], [("B", 4), ("C", 6)])),  # type: ignore[arg-type]
        )

    def test_refuses_to_split_an_order_on_hold(self) -> None:
        order = confirmed()
        order.hold("客户信用审查")
        assert_refused(
            order,
            "order_on_hold",
            lambda: order.split(_parts([("A", 10)], [("B", 4), ("C", 6)])),  # type: ignore[arg-type]
        )

    def test_refuses_to_split_an_order_twice(self) -> None:
        order = confirmed()
        order.split(_parts([("A", 10)], [("B", 4), ("C", 6)]))  # type: ignore[arg-type]
        assert_refused(
            order,
            "order_closed",
            lambda: order.split(_parts([("A", 10)], [("B", 4), ("C", 6)])),  # type: ignore[arg-type]
        )


class TestMerge:
    def test_merges_orders_of_one_customer_into_a_new_order(self) -> None:
        first = confirmed(lines_of(("A", 3, "2.50"), ("B", 1, "10.00")))
        second = verified(lines_of(("A", 2, "2.50"), ("D", 5, "4.00")))
        new_id = uuid4()
        merged = Order.merge([first, second], order_id=new_id, number="SO-2026-900001")
        assert merged.id == new_id
        assert merged.stage == "received"
        assert merged.merged_from == [str(first.id), str(second.id)]
        assert {s: ln.quantity for s, ln in merged.lines.items()} == {"A": 5, "B": 1, "D": 5}
        assert merged.total == first.total + second.total
        for source in (first, second):
            assert source.stage == "merged"
            assert source.merged_into == str(new_id)
            assert event_types(source)[-1] == "OrderMerged"

    def test_merges_only_what_is_still_due(self) -> None:
        first = confirmed(lines_of(("A", 3, "2.50"), ("B", 1, "10.00")))
        first.short_close(sku="B", quantity=1, reason="停产")
        merged = Order.merge(
            [first, received(lines_of(("A", 1, "2.50")))], order_id=uuid4(), number="M-1"
        )
        assert {s: ln.quantity for s, ln in merged.lines.items()} == {"A": 4}

    def _refused_merge(self, sources: list[Order], code: str) -> None:
        before = [(describe(s), s.version, len(s.pending_events)) for s in sources]
        with pytest.raises(DomainError) as refused:
            Order.merge(sources, order_id=uuid4(), number="SO-2026-999999")
        assert refused.value.code == code
        assert [(describe(s), s.version, len(s.pending_events)) for s in sources] == before

    def test_refuses_to_merge_orders_of_different_customers(self) -> None:
        self._refused_merge(
            [received(), received(customer=OTHER_CUSTOMER)], "cannot_merge_different_customers"
        )

    def test_refuses_to_merge_orders_in_different_currencies(self) -> None:
        self._refused_merge(
            [received(), received(currency="USD")], "cannot_merge_different_customers"
        )

    def test_refuses_to_merge_a_single_order(self) -> None:
        order = received()
        self._refused_merge([order], "merge_needs_two_orders")
        self._refused_merge([order, order], "merge_needs_two_orders")

    def test_refuses_to_merge_an_order_on_hold(self) -> None:
        held = received()
        held.hold("待定")
        self._refused_merge([received(), held], "order_on_hold")

    def test_refuses_to_merge_a_shipped_order(self) -> None:
        order = confirmed()
        shipped(order, "S1", [SkuQty("A", 1)])
        self._refused_merge([received(), order], "cannot_merge_shipped_order")

    def test_refuses_to_merge_an_order_with_planned_shipments(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 1)])
        self._refused_merge([order, received()], "cannot_merge_with_shipments_or_allocations")

    def test_refuses_to_merge_a_closed_order(self) -> None:
        order = received()
        order.cancel("客户取消")
        self._refused_merge([received(), order], "order_closed")

    def test_refuses_to_merge_a_line_priced_differently(self) -> None:
        self._refused_merge(
            [received(lines_of(("A", 1, "2.50"))), received(lines_of(("A", 1, "2.60")))],
            "cannot_merge_different_prices",
        )

    def test_refuses_to_merge_orders_with_nothing_left_to_ship(self) -> None:
        a = confirmed(lines_of(("A", 1, "2.50")))
        b = confirmed(lines_of(("B", 1, "2.50")))
        a.short_close(sku="A", quantity=1, reason="x")
        b.short_close(sku="B", quantity=1, reason="x")
        self._refused_merge([a, b], "merge_has_no_open_lines")


# -- 6 shipment planning ---------------------------------------------------------------------


class TestShipmentPlanning:
    def test_plans_a_shipment_with_date_carrier_mode_and_cost(self) -> None:
        order = confirmed()
        order.schedule_shipment(
            shipment_id="S1",
            planned_date=date(2026, 2, 15),
            lines=[SkuQty("A", 4)],
            carrier="中远海运",
            mode="sea",
            estimated_cost=D("1200.00"),
            export=True,
        )
        shipment = order.shipments["S1"]
        assert (shipment.lines, shipment.mode, shipment.export) == ({"A": 4}, "sea", True)
        assert shipment.estimated_cost == D("1200.00")
        assert shipment.status == "planned"
        assert order.planned_quantities() == {"A": 4}

    def test_reschedules_a_shipment_that_has_not_left(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        order.reschedule_shipment(
            shipment_id="S1", planned_date=date(2026, 2, 20), reason="船期变更", carrier="马士基"
        )
        shipment = order.shipments["S1"]
        assert (shipment.planned_date, shipment.carrier, shipment.reschedules) == (
            date(2026, 2, 20),
            "马士基",
            1,
        )

    def test_refuses_to_plan_more_than_ordered_minus_planned(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 6)])
        error = assert_refused(
            order,
            "cannot_plan_more_than_ordered",
            lambda: order.schedule_shipment(
                shipment_id="S2",
                planned_date=PROMISED,
                lines=[SkuQty("A", 5)],
                carrier="x",
                mode="road",
            ),
        )
        assert error.details["planned"] == 6

    def test_a_short_dispatch_frees_the_rest_for_another_shipment(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 10)])
        order.dispatch(shipment_id="S1", tracking_number="T1", lines=[SkuQty("A", 7)])
        ready_shipment(order, "S2", [SkuQty("A", 3)])
        assert order.planned_quantities()["A"] == 10

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"mode": "teleport"}, "invalid_mode"),
            ({"shipment_id": ""}, "missing_value"),
            ({"lines": []}, "lines_required"),
            ({"lines": [SkuQty("Z", 1)]}, "unknown_sku"),
            ({"lines": [SkuQty("A", 0)]}, "quantity_must_be_positive"),
            ({"estimated_cost": D(-1)}, "amount_must_not_be_negative"),
        ],
    )
    def test_refuses_a_malformed_plan(self, change: dict[str, object], code: str) -> None:
        order = confirmed()
        args: dict[str, object] = {
            "shipment_id": "S1",
            "planned_date": PROMISED,
            "lines": [SkuQty("A", 1)],
            "carrier": "x",
            "mode": "road",
        }
        args.update(change)
        assert_refused(order, code, lambda: order.schedule_shipment(**args))  # type: ignore[arg-type]

    def test_refuses_a_duplicate_shipment_id(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 1)])
        assert_refused(
            order,
            "duplicate_shipment",
            lambda: order.schedule_shipment(
                shipment_id="S1",
                planned_date=PROMISED,
                lines=[SkuQty("B", 1)],
                carrier="x",
                mode="road",
            ),
        )

    def test_refuses_to_plan_before_confirmation(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_confirmed",
            lambda: order.schedule_shipment(
                shipment_id="S1",
                planned_date=PROMISED,
                lines=[SkuQty("A", 1)],
                carrier="x",
                mode="road",
            ),
        )

    def test_refuses_to_reschedule_a_dispatched_shipment(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        assert_refused(
            order,
            "shipment_already_dispatched",
            lambda: order.reschedule_shipment(shipment_id="S1", planned_date=PROMISED, reason="x"),
        )

    def test_refuses_to_reschedule_an_unknown_shipment(self) -> None:
        order = confirmed()
        assert_refused(
            order,
            "unknown_shipment",
            lambda: order.reschedule_shipment(shipment_id="S9", planned_date=PROMISED, reason="x"),
        )


# -- 7 stock --------------------------------------------------------------------------------


class TestStock:
    def test_allocates_and_releases_stock_per_warehouse(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=4, warehouse="上海仓")
        order.allocate_stock(sku="A", quantity=3, warehouse="广州仓")
        order.release_stock(sku="A", quantity=3, warehouse="上海仓")
        assert order.lines["A"].allocated == {"上海仓": 1, "广州仓": 3}
        order.release_stock(sku="A", quantity=1, warehouse="上海仓")
        assert order.lines["A"].allocated == {"广州仓": 3}

    def test_all_stock_allocated_makes_the_order_ready_to_ship(self) -> None:
        order = confirmed()
        for sku, line in order.lines.items():
            order.allocate_stock(sku=sku, quantity=line.quantity, warehouse="WH")
        assert order.stage == "ready_to_ship"

    def test_dispatch_uses_up_the_allocation(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=6, warehouse="WH-B")
        order.allocate_stock(sku="A", quantity=4, warehouse="WH-A")
        shipped(order, "S1", [SkuQty("A", 5)])
        assert order.lines["A"].allocated == {"WH-B": 5}

    def test_refuses_to_allocate_more_than_open(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=8, warehouse="WH")
        assert_refused(
            order,
            "cannot_allocate_more_than_open",
            lambda: order.allocate_stock(sku="A", quantity=3, warehouse="WH2"),
        )

    def test_refuses_to_allocate_what_is_already_shipped(self) -> None:
        order = confirmed()
        shipped(order, "S1", [SkuQty("A", 10)])
        assert_refused(
            order,
            "cannot_allocate_more_than_open",
            lambda: order.allocate_stock(sku="A", quantity=1, warehouse="WH"),
        )

    def test_refuses_to_release_more_than_allocated_in_that_warehouse(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=2, warehouse="WH")
        assert_refused(
            order,
            "cannot_release_more_than_allocated",
            lambda: order.release_stock(sku="A", quantity=3, warehouse="WH"),
        )
        assert_refused(
            order,
            "cannot_release_more_than_allocated",
            lambda: order.release_stock(sku="A", quantity=1, warehouse="other"),
        )

    @pytest.mark.parametrize(
        ("sku", "quantity", "warehouse", "code"),
        [
            ("Z", 1, "WH", "unknown_sku"),
            ("A", 0, "WH", "quantity_must_be_positive"),
            ("A", 1, " ", "missing_value"),
        ],
    )
    def test_refuses_a_malformed_allocation(
        self, sku: str, quantity: int, warehouse: str, code: str
    ) -> None:
        order = confirmed()
        assert_refused(
            order,
            code,
            lambda: order.allocate_stock(sku=sku, quantity=quantity, warehouse=warehouse),
        )

    def test_refuses_to_allocate_before_confirmation(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_confirmed",
            lambda: order.allocate_stock(sku="A", quantity=1, warehouse="WH"),
        )


# -- 8 purchasing ---------------------------------------------------------------------------


class TestPurchasing:
    def test_orders_parts_and_receives_them_until_the_po_closes(self) -> None:
        order = confirmed()
        order.order_purchase(
            po_number="PO-1",
            supplier="宁波五金厂",
            items=[PurchaseItem("螺丝", 100, D("0.05")), PurchaseItem("垫片", 50)],
            eta=date(2026, 2, 1),
        )
        assert order.stage == "in_production"
        order.receive_purchase(po_number="PO-1", accepted=120, rejected=10, note="部分不良")
        assert order.purchases["PO-1"].status == "open"
        order.receive_purchase(po_number="PO-1", accepted=20)
        purchase = order.purchases["PO-1"]
        assert (purchase.accepted, purchase.rejected, purchase.status) == (140, 10, "closed")

    def _with_po(self) -> Order:
        order = confirmed()
        order.order_purchase(po_number="PO-1", supplier="S", items=[PurchaseItem("p", 10)])
        return order

    def test_refuses_to_receive_a_closed_po(self) -> None:
        order = self._with_po()
        order.receive_purchase(po_number="PO-1", accepted=10)
        assert_refused(
            order,
            "purchase_order_not_open",
            lambda: order.receive_purchase(po_number="PO-1", accepted=1),
        )

    def test_refuses_to_receive_an_unknown_po(self) -> None:
        order = self._with_po()
        assert_refused(
            order,
            "unknown_purchase_order",
            lambda: order.receive_purchase(po_number="PO-2", accepted=1),
        )

    def test_refuses_to_receive_more_than_ordered_from_the_supplier(self) -> None:
        order = self._with_po()
        order.receive_purchase(po_number="PO-1", accepted=6)
        assert_refused(
            order,
            "cannot_receive_more_than_ordered",
            lambda: order.receive_purchase(po_number="PO-1", accepted=3, rejected=2),
        )

    @pytest.mark.parametrize(("accepted", "rejected"), [(0, 0), (-1, 2), (2, -1)])
    def test_refuses_a_receipt_of_nothing_or_negatives(self, accepted: int, rejected: int) -> None:
        order = self._with_po()
        assert_refused(
            order,
            "quantity_must_be_positive",
            lambda: order.receive_purchase(po_number="PO-1", accepted=accepted, rejected=rejected),
        )

    def test_refuses_a_duplicate_po_number(self) -> None:
        order = self._with_po()
        assert_refused(
            order,
            "duplicate_purchase_order",
            lambda: order.order_purchase(
                po_number="PO-1", supplier="S", items=[PurchaseItem("p", 1)]
            ),
        )

    def test_refuses_a_po_without_items(self) -> None:
        order = confirmed()
        assert_refused(
            order,
            "lines_required",
            lambda: order.order_purchase(po_number="PO-1", supplier="S", items=[]),
        )


# -- 9 production ---------------------------------------------------------------------------


class TestProduction:
    def test_progress_moves_the_order_into_production_and_completion_makes_it_ready(
        self,
    ) -> None:
        order = confirmed()
        order.progress_production(stage="裁剪", percent=20)
        assert order.stage == "in_production"
        order.progress_production(stage="缝制", percent=20)
        order.progress_production(stage="缝制", percent=70)
        order.complete_production()
        assert (order.production_percent, order.production_completed) == (100, True)
        assert order.stage == "ready_to_ship"

    def test_refuses_progress_that_goes_down(self) -> None:
        order = confirmed()
        order.progress_production(stage="缝制", percent=60)
        assert_refused(
            order,
            "production_percent_cannot_decrease",
            lambda: order.progress_production(stage="返工", percent=59),
        )

    @pytest.mark.parametrize("percent", [-1, 101])
    def test_refuses_a_percent_out_of_range(self, percent: int) -> None:
        order = confirmed()
        assert_refused(
            order,
            "percent_out_of_range",
            lambda: order.progress_production(stage="x", percent=percent),
        )

    def test_refuses_progress_after_completion(self) -> None:
        order = confirmed()
        order.complete_production()
        assert_refused(
            order,
            "production_already_completed",
            lambda: order.progress_production(stage="x", percent=100),
        )
        assert_refused(order, "production_already_completed", order.complete_production)

    def test_refuses_production_before_confirmation(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_confirmed",
            lambda: order.progress_production(stage="x", percent=1),
        )


# -- 10 quality -----------------------------------------------------------------------------


class TestQuality:
    def test_raises_and_resolves_a_graded_issue(self) -> None:
        order = confirmed()
        order.raise_quality_issue(
            issue_id="Q1", severity="major", category="外观", description="划痕", sku="A"
        )
        assert order.quality_issues["Q1"].status == "open"
        order.resolve_quality_issue(
            issue_id="Q1", resolution="compensation", amount=D("15.00"), note="折让"
        )
        issue = order.quality_issues["Q1"]
        assert (issue.status, issue.resolution, issue.amount) == (
            "resolved",
            "compensation",
            D("15.00"),
        )

    def _with_issue(self, severity: str = "critical") -> Order:
        order = confirmed()
        order.raise_quality_issue(
            issue_id="Q1", severity=severity, category="功能", description="无法启动"
        )
        return order

    def test_refuses_to_resolve_an_issue_twice(self) -> None:
        order = self._with_issue()
        order.resolve_quality_issue(issue_id="Q1", resolution="repair")
        assert_refused(
            order,
            "quality_issue_not_open",
            lambda: order.resolve_quality_issue(issue_id="Q1", resolution="repair"),
        )

    def test_refuses_to_resolve_an_unknown_issue(self) -> None:
        order = self._with_issue()
        assert_refused(
            order,
            "unknown_quality_issue",
            lambda: order.resolve_quality_issue(issue_id="Q2", resolution="repair"),
        )

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"severity": "catastrophic"}, "invalid_severity"),
            ({"issue_id": ""}, "missing_value"),
            ({"description": ""}, "missing_value"),
            ({"sku": "Z"}, "unknown_sku"),
            ({"issue_id": "Q1"}, "duplicate_quality_issue"),
        ],
    )
    def test_refuses_a_malformed_issue(self, change: dict[str, str], code: str) -> None:
        order = self._with_issue("minor")
        args = {"issue_id": "Q2", "severity": "minor", "category": "c", "description": "d"}
        args.update(change)
        assert_refused(order, code, lambda: order.raise_quality_issue(**args))

    @pytest.mark.parametrize(
        ("resolution", "amount", "code"),
        [("refund", D(0), "invalid_resolution"), ("repair", D(-1), "amount_must_not_be_negative")],
    )
    def test_refuses_a_malformed_resolution(
        self, resolution: str, amount: Decimal, code: str
    ) -> None:
        order = self._with_issue()
        assert_refused(
            order,
            code,
            lambda: order.resolve_quality_issue(
                issue_id="Q1", resolution=resolution, amount=amount
            ),
        )

    def test_an_open_critical_issue_blocks_dispatch_until_resolved(self) -> None:
        order = self._with_issue("critical")
        ready_shipment(order, "S1")
        assert_refused(
            order,
            "open_critical_quality_issue",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T1"),
        )
        order.resolve_quality_issue(issue_id="Q1", resolution="exchange")
        order.dispatch(shipment_id="S1", tracking_number="T1")
        assert order.stage == "shipped"

    @pytest.mark.parametrize("severity", ["minor", "major"])
    def test_a_lesser_issue_does_not_block_dispatch(self, severity: str) -> None:
        order = self._with_issue(severity)
        shipped(order, "S1")
        assert order.shipments["S1"].status == "dispatched"


# -- 11 packing ----------------------------------------------------------------------------


class TestPacking:
    def test_packing_a_shipment_makes_the_order_ready_to_ship(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        order.pack(shipment_id="S1", packages=3, materials="纸箱", labels=["SO-标签-1"])
        shipment = order.shipments["S1"]
        assert shipment.status == "packed"
        assert shipment.packing is not None and shipment.packing.packages == 3
        assert order.stage == "ready_to_ship"

    def test_refuses_to_pack_a_dispatched_shipment(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        assert_refused(
            order, "shipment_already_dispatched", lambda: order.pack(shipment_id="S1", packages=1)
        )

    def test_refuses_to_pack_no_packages(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        assert_refused(
            order, "quantity_must_be_positive", lambda: order.pack(shipment_id="S1", packages=0)
        )


# -- 12 transport documents ----------------------------------------------------------------


class TestDocuments:
    def _planned(self, mode: str = "road", export: bool = False) -> Order:
        order = confirmed()
        order.schedule_shipment(
            shipment_id="S1",
            planned_date=PROMISED,
            lines=[SkuQty("A", 10)],
            carrier="c",
            mode=mode,
            export=export,
        )
        return order

    def test_a_document_is_drafted_then_reviewed_submitted_and_cleared(self) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1")
        assert order.shipments["S1"].documents["waybill"].status == "drafted"
        for status in ("reviewed", "submitted", "cleared"):
            order.change_document_status(shipment_id="S1", kind="waybill", status=status)
            assert order.shipments["S1"].documents["waybill"].status == status

    def test_a_rejected_document_keeps_its_discrepancy_and_is_drafted_again(self) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1", status="submitted")
        order.change_document_status(
            shipment_id="S1", kind="waybill", status="rejected", discrepancy="收货人电话错误"
        )
        document = order.shipments["S1"].documents["waybill"]
        assert (document.status, document.discrepancy) == ("rejected", "收货人电话错误")
        order.change_document_status(shipment_id="S1", kind="waybill", status="drafted")
        assert order.shipments["S1"].documents["waybill"].status == "drafted"

    def test_a_rejected_document_may_be_issued_anew(self) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1")
        order.change_document_status(
            shipment_id="S1", kind="waybill", status="rejected", discrepancy="错"
        )
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-2")
        assert order.shipments["S1"].documents["waybill"].number == "WB-2"

    @pytest.mark.parametrize(
        ("current", "new"),
        [
            ("drafted", "submitted"),
            ("drafted", "cleared"),
            ("reviewed", "drafted"),
            ("submitted", "reviewed"),
            ("cleared", "rejected"),
            ("cleared", "submitted"),
        ],
    )
    def test_refuses_to_skip_or_reverse_a_document_step(self, current: str, new: str) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1", status=current)
        assert_refused(
            order,
            "invalid_document_transition",
            lambda: order.change_document_status(shipment_id="S1", kind="waybill", status=new),
        )

    def test_refuses_a_rejection_without_the_discrepancy(self) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1")
        assert_refused(
            order,
            "missing_value",
            lambda: order.change_document_status(
                shipment_id="S1", kind="waybill", status="rejected"
            ),
        )

    def test_refuses_to_issue_a_document_twice(self) -> None:
        order = self._planned()
        order.issue_document(shipment_id="S1", kind="waybill", number="WB-1")
        assert_refused(
            order,
            "document_already_issued",
            lambda: order.issue_document(shipment_id="S1", kind="waybill", number="WB-2"),
        )

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"kind": "invoice"}, "invalid_kind"),
            ({"number": ""}, "missing_value"),
            ({"status": "rejected"}, "invalid_status"),
            ({"shipment_id": "S9"}, "unknown_shipment"),
        ],
    )
    def test_refuses_a_malformed_document(self, change: dict[str, str], code: str) -> None:
        order = self._planned()
        args = {"shipment_id": "S1", "kind": "waybill", "number": "WB-1"}
        args.update(change)
        assert_refused(order, code, lambda: order.issue_document(**args))

    def test_refuses_a_status_change_of_a_document_never_issued(self) -> None:
        order = self._planned()
        assert_refused(
            order,
            "unknown_document",
            lambda: order.change_document_status(
                shipment_id="S1", kind="waybill", status="reviewed"
            ),
        )

    @pytest.mark.parametrize(
        ("mode", "export", "required"),
        [
            ("road", False, ["dispatch_note", "waybill"]),
            ("rail", False, ["dispatch_note", "waybill"]),
            ("air", False, ["dispatch_note", "waybill"]),
            ("express", False, ["dispatch_note", "waybill"]),
            ("sea", False, ["dispatch_note", "bill_of_lading"]),
            ("sea", True, ["dispatch_note", "bill_of_lading", "customs_declaration"]),
            ("air", True, ["dispatch_note", "waybill", "customs_declaration"]),
        ],
    )
    def test_dispatch_requires_every_document_of_the_mode_at_least_submitted(
        self, mode: str, export: bool, required: list[str]
    ) -> None:
        order = self._planned(mode, export)
        error = assert_refused(
            order,
            "required_documents_missing",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T"),
        )
        assert error.details["missing"] == required
        for kind in required:
            order.issue_document(shipment_id="S1", kind=kind, number=kind, status="submitted")
        order.dispatch(shipment_id="S1", tracking_number="T")
        assert order.shipments["S1"].status == "dispatched"

    @pytest.mark.parametrize(
        ("mode", "export", "required"),
        [
            ("road", False, ["dispatch_note", "waybill"]),
            ("sea", True, ["dispatch_note", "bill_of_lading", "customs_declaration"]),
        ],
    )
    @pytest.mark.parametrize("short_status", ["drafted", "reviewed", "rejected", None])
    def test_one_document_short_of_submitted_still_blocks_dispatch(
        self, mode: str, export: bool, required: list[str], short_status: str | None
    ) -> None:
        for lagging in required:
            order = self._planned(mode, export)
            order.issue_document(
                shipment_id="S1", kind="packing_list", number="PL", status="cleared"
            )
            for kind in required:
                if kind != lagging:
                    order.issue_document(
                        shipment_id="S1", kind=kind, number=kind, status="submitted"
                    )
                elif short_status == "rejected":
                    order.issue_document(shipment_id="S1", kind=kind, number=kind)
                    order.change_document_status(
                        shipment_id="S1", kind=kind, status="rejected", discrepancy="不符"
                    )
                elif short_status is not None:
                    order.issue_document(
                        shipment_id="S1", kind=kind, number=kind, status=short_status
                    )
            error = assert_refused(
                order,
                "required_documents_missing",
                partial(order.dispatch, shipment_id="S1", tracking_number="T"),
            )
            assert error.details["missing"] == [lagging]

    def test_a_cleared_document_satisfies_dispatch(self) -> None:
        order = self._planned("sea")
        for kind in ("dispatch_note", "bill_of_lading"):
            order.issue_document(shipment_id="S1", kind=kind, number=kind, status="cleared")
        order.dispatch(shipment_id="S1", tracking_number="T")
        assert order.lines["A"].shipped == 10

    def test_a_waybill_does_not_carry_a_sea_shipment(self) -> None:
        order = self._planned("sea")
        for kind in ("dispatch_note", "waybill"):
            order.issue_document(shipment_id="S1", kind=kind, number=kind, status="submitted")
        error = assert_refused(
            order,
            "required_documents_missing",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T"),
        )
        assert error.details["missing"] == ["bill_of_lading"]


# -- dispatch ------------------------------------------------------------------------------


class TestDispatch:
    def test_two_of_three_shipments_sent_is_shipped_with_the_exact_ratio(self) -> None:
        order = confirmed(lines_of(("A", 3, "1.00")))
        for sid in ("S1", "S2", "S3"):
            ready_shipment(order, sid, [SkuQty("A", 1)])
        order.dispatch(shipment_id="S1", tracking_number="T1")
        order.dispatch(shipment_id="S2", tracking_number="T2")
        assert order.stage == "shipped"
        assert describe(order)["facets"]["shipped_ratio"] == "0.6667"
        assert order.lines["A"].shipped == 2
        assert order.lines["A"].open == 1

    def test_dispatches_part_of_a_planned_shipment(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 10), SkuQty("B", 4)])
        order.dispatch(
            shipment_id="S1", tracking_number="SF1", lines=[SkuQty("A", 7)], carrier="京东物流"
        )
        shipment = order.shipments["S1"]
        assert shipment.lines == {"A": 7}
        assert (shipment.carrier, shipment.tracking_number) == ("京东物流", "SF1")
        assert (order.lines["A"].shipped, order.lines["B"].shipped) == (7, 0)

    def test_refuses_to_ship_more_than_ordered(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 10)])
        # the plan already caps the shipment at what is ordered
        error = assert_refused(
            order,
            "cannot_ship_more_than_planned",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T", lines=[SkuQty("A", 11)]),
        )
        assert error.details == {"sku": "A", "planned": 10, "requested": 11}

    def test_refuses_to_ship_a_line_the_shipment_does_not_plan(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 10)])
        assert_refused(
            order,
            "cannot_ship_more_than_planned",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T", lines=[SkuQty("B", 1)]),
        )

    def test_refuses_to_ship_while_on_hold(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        order.hold("客户未付预付款")
        assert_refused(
            order, "order_on_hold", lambda: order.dispatch(shipment_id="S1", tracking_number="T")
        )
        order.release("已收到预付款")
        order.dispatch(shipment_id="S1", tracking_number="T")

    def test_refuses_to_ship_a_shipment_twice(self) -> None:
        order = confirmed()
        shipped(order, "S1", [SkuQty("A", 5)])
        assert_refused(
            order,
            "shipment_already_dispatched",
            lambda: order.dispatch(shipment_id="S1", tracking_number="T"),
        )

    def test_refuses_to_ship_without_a_tracking_number(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        assert_refused(
            order, "missing_value", lambda: order.dispatch(shipment_id="S1", tracking_number="")
        )

    @pytest.mark.parametrize(
        ("lines", "code"),
        [
            ([], "lines_required"),
            ([SkuQty("Z", 1)], "unknown_sku"),
            ([SkuQty("A", 0)], "quantity_must_be_positive"),
            ([SkuQty("A", 1), SkuQty("A", 1)], "duplicate_sku"),
        ],
    )
    def test_refuses_malformed_dispatch_lines(self, lines: list[SkuQty], code: str) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        assert_refused(
            order,
            code,
            lambda: order.dispatch(shipment_id="S1", tracking_number="T", lines=lines),
        )


# -- 13 transit ------------------------------------------------------------------------------


class TestTransit:
    @pytest.mark.parametrize(
        ("status", "exception"),
        [("in_transit", False), ("delayed", True), ("damaged", True), ("lost", True)],
    )
    def test_tracks_where_the_goods_are_and_flags_exceptions(
        self, status: str, exception: bool
    ) -> None:
        order = confirmed()
        shipped(order, "S1")
        order.update_transit(shipment_id="S1", status=status, location="武汉转运中心", note="n")
        shipment = order.shipments["S1"]
        assert (shipment.transit_status, shipment.location) == (status, "武汉转运中心")
        assert shipment.has_exception is exception

    def test_refuses_transit_news_of_a_shipment_not_dispatched(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        assert_refused(
            order,
            "shipment_not_in_transit",
            lambda: order.update_transit(shipment_id="S1", status="in_transit"),
        )

    def test_refuses_transit_news_of_a_delivered_shipment(self) -> None:
        order = confirmed()
        delivered(order, "S1")
        assert_refused(
            order,
            "shipment_not_in_transit",
            lambda: order.update_transit(shipment_id="S1", status="delayed"),
        )

    def test_refuses_an_unknown_transit_status(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        assert_refused(
            order,
            "invalid_status",
            lambda: order.update_transit(shipment_id="S1", status="teleported"),
        )


# -- delivery --------------------------------------------------------------------------------


class TestDelivery:
    def test_delivering_every_shipment_makes_the_order_delivered(self) -> None:
        order = confirmed()
        delivered(order, "S1", [SkuQty("A", 10), SkuQty("B", 4)])
        assert order.stage == "shipped"
        delivered(order, "S2", [SkuQty("C", 6)])
        assert order.stage == "delivered"
        assert order.shipments["S2"].received_by == "李四"
        assert all(line.delivered == line.quantity for line in order.lines.values())
        assert describe(order)["facets"]["delivered_ratio"] == "1.0000"

    def test_delivery_clears_a_transit_exception(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        order.update_transit(shipment_id="S1", status="delayed")
        order.deliver(shipment_id="S1", received_by="门卫")
        assert not order.shipments["S1"].has_exception

    def test_refuses_to_deliver_a_shipment_twice(self) -> None:
        order = confirmed()
        delivered(order, "S1")
        assert_refused(
            order,
            "shipment_not_in_transit",
            lambda: order.deliver(shipment_id="S1", received_by="x"),
        )

    def test_refuses_to_deliver_a_shipment_not_dispatched(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1")
        assert_refused(
            order,
            "shipment_not_in_transit",
            lambda: order.deliver(shipment_id="S1", received_by="x"),
        )

    def test_refuses_a_delivery_without_a_receiver(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        assert_refused(
            order, "missing_value", lambda: order.deliver(shipment_id="S1", received_by=" ")
        )


# -- 14 invoicing, credit notes, payment, settlement ----------------------------------------


class TestInvoicing:
    def test_before_delivery_only_the_prepayment_share_may_be_invoiced(self) -> None:
        order = confirmed(prepayment="30")  # total 72.50 -> 21.75
        assert order.invoice_cap() == D("21.75")
        assert_refused(
            order,
            "cannot_invoice_more_than_allowed",
            lambda: order.invoice(invoice_number="INV-1", amount=D("21.76"), issued_on=PROMISED),
        )
        order.invoice(invoice_number="INV-1", amount=D("21.75"), issued_on=PROMISED)
        assert order.invoiced_amount == D("21.75")
        assert_refused(
            order,
            "cannot_invoice_more_than_allowed",
            lambda: order.invoice(invoice_number="INV-2", amount=D("0.01"), issued_on=PROMISED),
        )

    def test_the_prepayment_share_leaves_out_short_closed_units(self) -> None:
        order = confirmed(prepayment="30")  # total 72.50
        order.short_close(sku="B", quantity=4, reason="客户取消该型号")  # 40.00 will never ship
        assert order.invoice_cap() == D("9.75")  # 30% of 32.50
        assert_refused(
            order,
            "cannot_invoice_more_than_allowed",
            lambda: order.invoice(invoice_number="INV-1", amount=D("9.76"), issued_on=PROMISED),
        )

    def test_without_prepayment_nothing_may_be_invoiced_before_delivery(self) -> None:
        order = confirmed()
        shipped(order, "S1")
        assert_refused(
            order,
            "cannot_invoice_more_than_allowed",
            lambda: order.invoice(invoice_number="INV-1", amount=D("0.01"), issued_on=PROMISED),
        )

    def test_delivered_value_raises_the_cap_up_to_the_total(self) -> None:
        order = confirmed(prepayment="50")  # 36.25 up front
        delivered(order, "S1", [SkuQty("A", 10)])  # +25.00
        assert order.invoice_cap() == D("61.25")
        delivered(order, "S2", [SkuQty("B", 4), SkuQty("C", 6)])
        assert order.invoice_cap() == order.total == D("72.50")
        order.invoice(invoice_number="INV-1", amount=D("72.50"), issued_on=PROMISED)
        assert order.stage == "invoiced"
        assert_refused(
            order,
            "cannot_invoice_more_than_allowed",
            lambda: order.invoice(invoice_number="INV-2", amount=D("0.01"), issued_on=PROMISED),
        )

    def test_invoices_lines_up_to_the_ordered_quantity(self) -> None:
        order = confirmed(prepayment="100")
        order.invoice(
            invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED, lines=[SkuQty("A", 4)]
        )
        assert order.lines["A"].invoiced == 4
        assert_refused(
            order,
            "cannot_invoice_more_than_ordered",
            lambda: order.invoice(
                invoice_number="INV-2",
                amount=D("1.00"),
                issued_on=PROMISED,
                lines=[SkuQty("A", 7)],
            ),
        )

    @pytest.mark.parametrize(
        ("amount", "code"),
        [
            (D(0), "amount_must_be_positive"),
            (D("-5"), "amount_must_be_positive"),
            (D("NaN"), "amount_must_be_positive"),
            (D("Infinity"), "amount_must_be_positive"),
            (D("1.001"), "amount_has_too_many_decimals"),
            (D(10) ** 14, "amount_too_large"),
        ],
    )
    def test_refuses_an_amount_that_is_not_money(self, amount: Decimal, code: str) -> None:
        order = confirmed(prepayment="100")
        assert_refused(
            order,
            code,
            lambda: order.invoice(invoice_number="INV-1", amount=amount, issued_on=PROMISED),
        )

    def test_refuses_a_duplicate_invoice_number(self) -> None:
        order = confirmed(prepayment="100")
        order.invoice(invoice_number="INV-1", amount=D("1.00"), issued_on=PROMISED)
        assert_refused(
            order,
            "duplicate_invoice",
            lambda: order.invoice(invoice_number="INV-1", amount=D("1.00"), issued_on=PROMISED),
        )

    def test_refuses_to_invoice_before_confirmation(self) -> None:
        order = verified()
        assert_refused(
            order,
            "order_not_confirmed",
            lambda: order.invoice(invoice_number="INV-1", amount=D("1.00"), issued_on=PROMISED),
        )


class TestCreditNotes:
    def _invoiced(self) -> Order:
        order = confirmed(prepayment="100")
        order.invoice(invoice_number="INV-1", amount=D("72.50"), issued_on=PROMISED)
        return order

    def test_a_credit_note_lowers_the_net_invoiced_and_frees_the_cap(self) -> None:
        order = self._invoiced()
        order.issue_credit_note(
            credit_note_number="CN-1", amount=D("12.50"), reason="退货", invoice_number="INV-1"
        )
        assert (order.invoiced_amount, order.credited_amount, order.net_invoiced) == (
            D("72.50"),
            D("12.50"),
            D("60.00"),
        )
        order.invoice(invoice_number="INV-2", amount=D("12.50"), issued_on=PROMISED)
        assert order.net_invoiced == order.total

    def test_refuses_to_credit_more_than_invoiced(self) -> None:
        order = self._invoiced()
        assert_refused(
            order,
            "cannot_credit_more_than_unpaid_invoiced",
            lambda: order.issue_credit_note(
                credit_note_number="CN-1", amount=D("72.51"), reason="x"
            ),
        )

    def test_refuses_to_credit_what_is_already_paid(self) -> None:
        order = self._invoiced()
        order.receive_payment(reference="P1", amount=D("70.00"), received_on=PROMISED)
        assert_refused(
            order,
            "cannot_credit_more_than_unpaid_invoiced",
            lambda: order.issue_credit_note(
                credit_note_number="CN-1", amount=D("2.51"), reason="x"
            ),
        )
        order.issue_credit_note(credit_note_number="CN-1", amount=D("2.50"), reason="补偿")
        assert order.outstanding == 0

    def test_refuses_a_credit_note_for_an_unknown_invoice(self) -> None:
        order = self._invoiced()
        assert_refused(
            order,
            "unknown_invoice",
            lambda: order.issue_credit_note(
                credit_note_number="CN-1", amount=D("1"), reason="x", invoice_number="INV-9"
            ),
        )

    def test_refuses_a_duplicate_credit_note_or_one_without_reason(self) -> None:
        order = self._invoiced()
        order.issue_credit_note(credit_note_number="CN-1", amount=D("1"), reason="x")
        assert_refused(
            order,
            "duplicate_credit_note",
            lambda: order.issue_credit_note(credit_note_number="CN-1", amount=D("1"), reason="x"),
        )
        assert_refused(
            order,
            "missing_value",
            lambda: order.issue_credit_note(credit_note_number="CN-2", amount=D("1"), reason=""),
        )


class TestPayments:
    def test_records_payments_against_what_is_invoiced(self) -> None:
        order = confirmed(prepayment="100")
        order.invoice(invoice_number="INV-1", amount=D("72.50"), issued_on=PROMISED)
        order.receive_payment(reference="BANK-1", amount=D("50.00"), received_on=PROMISED)
        order.receive_payment(reference="BANK-2", amount=D("22.50"), received_on=PROMISED)
        assert (order.paid_amount, order.outstanding) == (D("72.50"), D(0))
        assert describe(order)["facets"]["paid_ratio"] == "1.0000"

    def test_refuses_a_payment_beyond_what_is_invoiced_and_unpaid(self) -> None:
        order = confirmed(prepayment="100")
        assert_refused(
            order,
            "cannot_pay_more_than_outstanding",
            lambda: order.receive_payment(reference="P", amount=D("0.01"), received_on=PROMISED),
        )
        order.invoice(invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED)
        order.receive_payment(reference="P1", amount=D("4.00"), received_on=PROMISED)
        assert_refused(
            order,
            "cannot_pay_more_than_outstanding",
            lambda: order.receive_payment(reference="P2", amount=D("6.01"), received_on=PROMISED),
        )

    def test_refuses_a_payment_recorded_twice(self) -> None:
        order = confirmed(prepayment="100")
        order.invoice(invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED)
        order.receive_payment(reference="P1", amount=D("4.00"), received_on=PROMISED)
        assert_refused(
            order,
            "duplicate_payment",
            lambda: order.receive_payment(reference="P1", amount=D("4.00"), received_on=PROMISED),
        )


def _delivered_and_invoiced(prepayment: str = "0") -> Order:
    order = confirmed(prepayment=prepayment)
    delivered(order, "S1")
    order.invoice(invoice_number="INV-1", amount=order.total, issued_on=PROMISED)
    return order


class TestSettlement:
    def test_settles_when_everything_shipped_is_invoiced_and_paid(self) -> None:
        order = _delivered_and_invoiced()
        order.receive_payment(reference="P1", amount=order.total, received_on=PROMISED)
        order.settle()
        assert order.stage == "settled"

    def test_refuses_to_settle_with_open_lines(self) -> None:
        order = confirmed(prepayment="100")
        delivered(order, "S1", [SkuQty("A", 10)])
        error = assert_refused(order, "cannot_settle_with_open_lines", order.settle)
        assert error.details["open"] == ["B", "C"]

    def test_refuses_to_settle_with_goods_in_transit(self) -> None:
        order = confirmed(prepayment="100")
        shipped(order, "S1")
        order.invoice(invoice_number="INV-1", amount=order.total, issued_on=PROMISED)
        order.receive_payment(reference="P1", amount=order.total, received_on=PROMISED)
        assert_refused(order, "cannot_settle_with_goods_in_transit", order.settle)

    def test_refuses_to_settle_uninvoiced_shipments(self) -> None:
        order = confirmed()
        delivered(order, "S1")
        order.invoice(invoice_number="INV-1", amount=D("70.00"), issued_on=PROMISED)
        order.receive_payment(reference="P1", amount=D("70.00"), received_on=PROMISED)
        assert_refused(order, "cannot_settle_uninvoiced_shipments", order.settle)

    def test_refuses_to_settle_an_unpaid_balance(self) -> None:
        order = _delivered_and_invoiced()
        order.receive_payment(reference="P1", amount=D("72.49"), received_on=PROMISED)
        error = assert_refused(order, "cannot_settle_unpaid_balance", order.settle)
        assert error.details["outstanding"] == "0.01"

    def test_refuses_to_settle_twice(self) -> None:
        order = _delivered_and_invoiced()
        order.receive_payment(reference="P1", amount=order.total, received_on=PROMISED)
        order.settle()
        assert_refused(order, "order_settled", order.settle)

    def test_a_settled_order_still_takes_complaints_and_quality_issues(self) -> None:
        order = _delivered_and_invoiced()
        order.receive_payment(reference="P1", amount=order.total, received_on=PROMISED)
        order.settle()
        order.file_complaint(complaint_id="C1", channel="phone", category="售后", description="坏")
        order.raise_quality_issue(
            issue_id="Q1", severity="minor", category="外观", description="划痕"
        )
        order.resolve_quality_issue(issue_id="Q1", resolution="repair")
        order.resolve_complaint(complaint_id="C1", resolution="已维修")
        assert order.stage == "settled"


# -- 16 complaints --------------------------------------------------------------------------


class TestComplaints:
    def test_files_and_resolves_a_complaint_with_the_customers_feedback(self) -> None:
        order = confirmed()
        order.file_complaint(
            complaint_id="C1",
            channel="phone",
            category="交期",
            description="未按时发货",
            contact="13800138000",
        )
        assert order.complaints["C1"].status == "open"
        order.resolve_complaint(complaint_id="C1", resolution="加急发货", customer_feedback="满意")
        complaint = order.complaints["C1"]
        assert (complaint.status, complaint.customer_feedback) == ("resolved", "满意")

    def test_refuses_to_resolve_a_complaint_twice(self) -> None:
        order = received()
        order.file_complaint(complaint_id="C1", channel="email", category="c", description="d")
        order.resolve_complaint(complaint_id="C1", resolution="r")
        assert_refused(
            order,
            "complaint_not_open",
            lambda: order.resolve_complaint(complaint_id="C1", resolution="r"),
        )

    def test_refuses_to_resolve_an_unknown_complaint(self) -> None:
        order = received()
        assert_refused(
            order,
            "unknown_complaint",
            lambda: order.resolve_complaint(complaint_id="C9", resolution="r"),
        )

    def test_refuses_a_duplicate_or_empty_complaint(self) -> None:
        order = received()
        order.file_complaint(complaint_id="C1", channel="email", category="c", description="d")
        assert_refused(
            order,
            "duplicate_complaint",
            lambda: order.file_complaint(
                complaint_id="C1", channel="email", category="c", description="d"
            ),
        )
        assert_refused(
            order,
            "missing_value",
            lambda: order.file_complaint(
                complaint_id="C2", channel="email", category="c", description=""
            ),
        )


# -- hold, release, cancel ------------------------------------------------------------------


class TestHoldReleaseCancel:
    def test_a_hold_shows_on_the_board_but_keeps_the_progress(self) -> None:
        order = confirmed()
        order.progress_production(stage="x", percent=10)
        order.hold("信用额度超限")
        assert (order.stage, order.progress_stage, order.hold_reason) == (
            "on_hold",
            "in_production",
            "信用额度超限",
        )
        order.release("已审批")
        assert (order.stage, order.on_hold) == ("in_production", False)

    def test_refuses_to_hold_twice_or_release_what_is_not_held(self) -> None:
        order = received()
        assert_refused(order, "order_not_on_hold", lambda: order.release("x"))
        order.hold("x")
        assert_refused(order, "order_already_on_hold", lambda: order.hold("y"))

    def test_refuses_a_manual_override_without_a_reason(self) -> None:
        order = received()
        assert_refused(order, "missing_value", lambda: order.hold(""))
        assert_refused(order, "missing_value", lambda: order.cancel(" "))

    def test_cancelling_releases_the_stock_and_closes_the_order(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=5, warehouse="WH")
        order.hold("x")
        order.cancel("客户取消")
        assert (order.stage, order.cancel_reason, order.on_hold) == ("cancelled", "客户取消", False)
        assert order.lines["A"].allocated == {}
        assert_refused(
            order,
            "order_closed",
            lambda: order.allocate_stock(sku="A", quantity=1, warehouse="WH"),
        )
        assert_refused(order, "order_closed", lambda: order.hold("x"))
        assert_refused(order, "order_closed", lambda: order.cancel("again"))

    def test_refuses_to_cancel_after_dispatch(self) -> None:
        order = confirmed()
        shipped(order, "S1", [SkuQty("A", 1)])
        assert_refused(order, "cannot_cancel_after_dispatch", lambda: order.cancel("晚了"))

    def test_refuses_to_cancel_an_invoiced_order_until_credited(self) -> None:
        order = confirmed(prepayment="50")
        order.invoice(invoice_number="INV-1", amount=D("10.00"), issued_on=PROMISED)
        assert_refused(order, "cannot_cancel_invoiced_order", lambda: order.cancel("x"))
        order.issue_credit_note(credit_note_number="CN-1", amount=D("10.00"), reason="取消")
        order.cancel("x")
        assert order.stage == "cancelled"


# -- 17 short-close --------------------------------------------------------------------------


class TestShortClose:
    def test_writes_off_a_remainder_that_will_never_ship(self) -> None:
        order = confirmed()
        delivered(order, "S1", [SkuQty("A", 7), SkuQty("B", 4), SkuQty("C", 6)])
        order.short_close(sku="A", quantity=3, reason="缺料停产")
        line = order.lines["A"]
        assert (line.shipped, line.short_closed, line.due, line.open) == (7, 3, 7, 0)
        assert order.stage == "delivered"
        facets = describe(order)["facets"]
        assert (facets["short_closed"], facets["shipped_ratio"]) == (3, "1.0000")

    def test_a_short_closed_order_settles_on_what_shipped(self) -> None:
        order = confirmed()
        delivered(order, "S1", [SkuQty("A", 7), SkuQty("B", 4), SkuQty("C", 6)])
        order.short_close(sku="A", quantity=3, reason="缺料")
        value = order.shipped_value
        order.invoice(invoice_number="INV-1", amount=value, issued_on=PROMISED)
        order.receive_payment(reference="P1", amount=value, received_on=PROMISED)
        order.settle()
        assert order.stage == "settled"

    def test_refuses_to_write_off_what_is_planned_or_shipped(self) -> None:
        order = confirmed()
        ready_shipment(order, "S1", [SkuQty("A", 8)])
        assert_refused(
            order,
            "cannot_short_close_more_than_open",
            lambda: order.short_close(sku="A", quantity=3, reason="x"),
        )
        order.short_close(sku="A", quantity=2, reason="x")

    def test_refuses_to_write_off_allocated_stock(self) -> None:
        order = confirmed()
        order.allocate_stock(sku="A", quantity=8, warehouse="WH")
        assert_refused(
            order,
            "cannot_short_close_allocated_quantity",
            lambda: order.short_close(sku="A", quantity=3, reason="x"),
        )

    @pytest.mark.parametrize(
        ("sku", "quantity", "reason", "code"),
        [
            ("Z", 1, "r", "unknown_sku"),
            ("A", 0, "r", "quantity_must_be_positive"),
            ("A", 1, "", "missing_value"),
        ],
    )
    def test_refuses_a_malformed_write_off(
        self, sku: str, quantity: int, reason: str, code: str
    ) -> None:
        order = confirmed()
        assert_refused(
            order, code, lambda: order.short_close(sku=sku, quantity=quantity, reason=reason)
        )


# -- 15 archive ------------------------------------------------------------------------------


def _settled() -> Order:
    order = _delivered_and_invoiced()
    order.receive_payment(reference="P1", amount=order.total, received_on=PROMISED)
    order.settle()
    return order


class TestArchive:
    def test_archives_a_settled_order(self) -> None:
        order = _settled()
        order.archive("ARC-2026-03")
        assert (order.stage, order.archive_ref) == ("archived", "ARC-2026-03")
        assert_refused(
            order,
            "order_closed",
            lambda: order.file_complaint(
                complaint_id="C1", channel="x", category="c", description="d"
            ),
        )

    def test_archives_a_cancelled_order(self) -> None:
        order = received()
        order.cancel("重复下单")
        order.archive("ARC-1")
        assert order.stage == "archived"

    @pytest.mark.parametrize("make", [received, confirmed])
    def test_refuses_to_archive_an_unsettled_order(self, make: object) -> None:
        order = make()  # type: ignore[operator]
        assert_refused(order, "cannot_archive_unsettled_order", lambda: order.archive("A"))

    def test_refuses_to_archive_with_an_open_complaint(self) -> None:
        order = _settled()
        order.file_complaint(complaint_id="C1", channel="x", category="c", description="d")
        error = assert_refused(order, "cannot_archive_with_open_items", lambda: order.archive("A"))
        assert error.details["open"] == ["complaint C1"]

    def test_refuses_to_archive_twice(self) -> None:
        order = _settled()
        order.archive("A")
        assert_refused(order, "cannot_archive_unsettled_order", lambda: order.archive("B"))

    def test_a_complaint_filed_before_cancellation_can_still_be_resolved(self) -> None:
        # otherwise the cancelled order can never be archived: nothing open is required
        order = confirmed()
        order.file_complaint(complaint_id="C1", channel="phone", category="c", description="d")
        order.cancel("客户取消")
        order.resolve_complaint(complaint_id="C1", resolution="已退款")
        order.archive("ARC-1")
        assert order.stage == "archived"

    def test_a_quality_issue_raised_before_cancellation_can_still_be_resolved(self) -> None:
        order = confirmed()
        order.raise_quality_issue(issue_id="Q1", severity="major", category="c", description="d")
        order.cancel("客户取消")
        order.resolve_quality_issue(issue_id="Q1", resolution="return")
        order.archive("ARC-1")
        assert order.stage == "archived"

    def test_a_cancelled_order_with_an_open_purchase_is_not_a_dead_end(self) -> None:
        order = confirmed()
        order.order_purchase(po_number="PO-1", supplier="S", items=[PurchaseItem("p", 10)])
        try:
            order.cancel("客户取消")
        except DomainError:
            return  # refusing the cancel is a way out too
        with contextlib.suppress(DomainError):
            order.receive_purchase(po_number="PO-1", accepted=10)
        order.archive("ARC-1")
        assert order.stage == "archived"


# -- the whole story ------------------------------------------------------------------------


class TestHappyPath:
    def test_follows_an_order_from_receipt_to_archive(self) -> None:
        moments = iter(T0 + timedelta(hours=i) for i in range(1000))
        stages: list[str] = []

        def step(action: object) -> None:
            with at(next(moments), actor="跟单员-小李", correlation_id="story"):
                action()  # type: ignore[operator]
            stages.append(order.stage)

        with at(next(moments), actor="sales"):
            order = received(channel="platform")
        stages.append(order.stage)
        step(lambda: order.verify(dict(ALL_CHECKS_PASS)))
        step(
            lambda: order.confirm(
                promised_date=PROMISED, payment_terms=PaymentTerms("bank_transfer", 30, D(30))
            )
        )
        step(lambda: order.promise_date(date(2026, 3, 8), reason="排产"))
        step(lambda: order.allocate_stock(sku="C", quantity=6, warehouse="上海仓"))
        step(
            lambda: order.order_purchase(
                po_number="PO-1", supplier="供应商", items=[PurchaseItem("电机", 4)]
            )
        )
        step(lambda: order.receive_purchase(po_number="PO-1", accepted=4))
        step(lambda: order.progress_production(stage="组装", percent=50))
        step(
            lambda: order.raise_quality_issue(
                issue_id="Q1", severity="critical", category="电气", description="短路"
            )
        )
        step(lambda: order.resolve_quality_issue(issue_id="Q1", resolution="repair"))
        step(order.complete_production)
        step(lambda: ready_shipment(order, "S1", [SkuQty("A", 10), SkuQty("C", 6)]))
        step(lambda: order.pack(shipment_id="S1", packages=2, materials="纸箱"))
        step(lambda: order.dispatch(shipment_id="S1", tracking_number="SF1"))
        step(lambda: order.update_transit(shipment_id="S1", status="delayed", location="武汉"))
        step(lambda: order.deliver(shipment_id="S1", received_by="李四"))
        step(lambda: ready_shipment(order, "S2", [SkuQty("B", 3)], mode="sea", export=True))
        step(lambda: order.dispatch(shipment_id="S2", tracking_number="COSCO-1"))
        step(lambda: order.deliver(shipment_id="S2", received_by="李四"))
        step(lambda: order.short_close(sku="B", quantity=1, reason="缺货"))
        step(lambda: order.invoice(invoice_number="INV-1", amount=D("40.00"), issued_on=PROMISED))
        step(lambda: order.receive_payment(reference="P1", amount=D("40.00"), received_on=PROMISED))
        step(lambda: order.invoice(invoice_number="INV-2", amount=D("22.50"), issued_on=PROMISED))
        step(
            lambda: order.file_complaint(
                complaint_id="C1", channel="phone", category="包装", description="外箱破损"
            )
        )
        step(
            lambda: order.issue_credit_note(
                credit_note_number="CN-1",
                amount=D("5.00"),
                reason="包装补偿",
                invoice_number="INV-2",
            )
        )
        step(lambda: order.resolve_complaint(complaint_id="C1", resolution="补偿5元"))
        step(lambda: order.receive_payment(reference="P2", amount=D("17.50"), received_on=PROMISED))
        step(order.settle)
        step(lambda: order.archive("ARC-2026-Q1"))

        seen = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
        assert seen == [
            "received",
            "verified",
            "confirmed",
            "in_production",
            "ready_to_ship",
            "shipped",
            "delivered",
            "invoiced",
            "settled",
            "archived",
        ]
        assert (order.net_invoiced, order.paid_amount, order.outstanding) == (
            D("57.50"),
            D("57.50"),
            D(0),
        )
        assert order.original_promise == PROMISED
        assert order.latest_promise == date(2026, 3, 8)
        assert list(order.stage_reached) == seen
        assert order.stage_reached["received"] == T0
        events = order.pending_events
        assert all(e.meta["actor"] == "跟单员-小李" for e in events[1:])
        assert events[0].meta == {"actor": "sales"}
        assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
        live = describe(order)
        assert describe(replay(order)) == live

    def test_a_replayed_order_equals_the_live_one_at_every_step(self) -> None:
        order = confirmed(prepayment="20")
        delivered(order, "S1", [SkuQty("A", 5)])
        events = list(order.pending_events)
        rebuilt = None
        for event in events:
            rebuilt = event.mutate(rebuilt)
            assert rebuilt is not None
            assert rebuilt.version == event.originator_version
        assert rebuilt is not None
        assert describe(rebuilt) == describe(order)


def test_every_refusal_is_a_domain_error_never_a_crash() -> None:
    """Commands on an order in each state with wrong references refuse cleanly."""
    orders = [received(), verified(), confirmed(), _settled(), _delivered_and_invoiced()]
    cancelled = received()
    cancelled.cancel("x")
    orders.append(cancelled)
    calls: list[Callable[[Order], object]] = [
        lambda o: o.release_stock(sku="A", quantity=1, warehouse="none"),
        lambda o: o.resolve_quality_issue(issue_id="none", resolution="repair"),
        lambda o: o.resolve_complaint(complaint_id="none", resolution="r"),
        lambda o: o.receive_purchase(po_number="none", accepted=1),
        lambda o: o.pack(shipment_id="none", packages=1),
        lambda o: o.dispatch(shipment_id="none", tracking_number="t"),
        lambda o: o.deliver(shipment_id="none", received_by="x"),
        lambda o: o.update_transit(shipment_id="none", status="lost"),
        lambda o: o.change_document_status(shipment_id="none", kind="waybill", status="reviewed"),
        lambda o: o.issue_document(shipment_id="none", kind="waybill", number="n"),
        lambda o: o.reschedule_shipment(shipment_id="none", planned_date=PROMISED, reason="r"),
        lambda o: o.short_close(sku="none", quantity=1, reason="r"),
        lambda o: o.allocate_stock(sku="none", quantity=1, warehouse="w"),
        lambda o: o.release(reason="r"),
    ]
    for order in orders:
        for call in calls:
            before = describe(order)
            with pytest.raises(DomainError):
                call(order)
            assert describe(order) == before


def test_stage_reached_keeps_the_first_time_of_each_stage() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with at(start):
        order = received()
    with at(start + timedelta(days=1)):
        order.verify(dict(ALL_CHECKS_PASS))
    assert order.stage_reached == {"received": start, "verified": start + timedelta(days=1)}
