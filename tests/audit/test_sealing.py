"""Every personal text of every event, and of the order's state in a
snapshot, is stored sealed under its customer's key and reads "[erased]"
once the key is destroyed, exactly as the erasure event redacts the live
order; public texts are stored as they are."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.order import Order
from ledger.aggregates.privacy import ERASED, privacy_of, redacted
from ledger.aggregates.state import (
    ComplaintState,
    CreditNoteState,
    InvoiceState,
    LineState,
    PaymentState,
    PromiseState,
    PurchaseState,
    QualityIssueState,
    ShipmentState,
)
from ledger.aggregates.values import Customer, Delivery
from ledger.application import Ledger
from ledger.persistence.key_tables import key_table_for
from ledger.persistence.personal import CUSTOMER_SEALED, DELIVERY_SEALED
from ledger.settings import Settings
from privacy_support import Markers, build_instance, event_classes
from strategies import STANDARD_LINES, lines_of


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    app = Ledger(Settings(database_url="memory://"))
    yield app
    app.close()


def stored_bytes(ledger: Ledger, event: Any, owner: str) -> Any:
    vars(ledger.mapper).setdefault("owners", {})[event.originator_id] = owner
    return ledger.mapper.to_stored_event(event)


def check_sealed(stored: Any, marks: Markers) -> None:
    data = bytes(stored.state).decode()
    assert [m for m in marks.personal if m in data] == []
    assert [m for m in marks.public if m not in data] == []


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_every_personal_text_of_an_event_is_sealed_and_erased_with_its_key(
    ledger: Ledger, cls: type
) -> None:
    marks = Markers()
    event = build_instance(cls, marks)
    owner = event.customer.name if isinstance(getattr(event, "customer", None), Customer) else ""
    owner = owner or f"owner of a {cls.__name__}"
    stored = stored_bytes(ledger, event, owner)
    check_sealed(stored, marks)
    assert ledger.mapper.to_domain_event(stored) == event
    ledger.personal_keys.erase(owner)
    assert ledger.mapper.to_domain_event(stored) == redacted(event)


STATE_DICTS = {
    "lines": LineState,
    "shipments": ShipmentState,
    "purchases": PurchaseState,
    "quality_issues": QualityIssueState,
    "complaints": ComplaintState,
    "invoices": InvoiceState,
    "credit_notes": CreditNoteState,
    "payments": PaymentState,
}


def full_order(marks: Markers, customer: Customer) -> Order:
    """An order whose every state attribute holding text holds markers."""
    with stamped(Stamp(datetime(2026, 1, 5, tzinfo=UTC), {})):
        order = Order.receive(
            order_id=uuid4(),
            number="SO-2026-000001",
            channel="phone",
            customer=customer,
            lines=lines_of(*STANDARD_LINES),
            delivery=Delivery(marks.new(True), marks.new(True), marks.new(True), "road"),
        )
    personal = privacy_of(Order).personal
    for name, value in list(vars(order).items()):
        if name in STATE_DICTS:
            setattr(order, name, {marks.new(False): build_instance(STATE_DICTS[name], marks)})
        elif isinstance(value, str):
            setattr(order, name, marks.new(name in personal))
    order.merged_from, order.split_into = [marks.new(False)], [marks.new(False)]
    order.problems = [marks.new(True), marks.new(True)]
    order.checks = {marks.new(False): True}
    order.promises = [build_instance(PromiseState, marks)]
    order.invoice_info = {"tax_id": marks.new(True), "bank": marks.new(True)}
    return order


def state(order: Order) -> dict[str, Any]:
    return {k: v for k, v in vars(order).items() if k != "_pending_events"}


def test_the_order_state_in_a_snapshot_is_sealed_and_erased_as_the_live_order_is(
    ledger: Ledger,
) -> None:
    marks = Markers()
    customer = Customer(marks.new(False), marks.new(True), marks.new(True), marks.new(True))
    order = full_order(marks, customer)
    snapshot = Order.Snapshot.take(order)
    stored = stored_bytes(ledger, snapshot, customer.name)
    check_sealed(stored, marks)
    assert state(cast(Any, ledger.mapper.to_domain_event(stored)).mutate(None)) == state(order)

    ledger.personal_keys.erase(customer.name)
    replayed = cast(Any, ledger.mapper.to_domain_event(stored)).mutate(None)
    with stamped(Stamp(datetime(2026, 1, 6, tzinfo=UTC), {})):
        order.erase_personal_data()
        replayed.erase_personal_data()
    assert state(replayed) == state(order)
    assert order.hold_reason == ERASED and order.customer.phone == ERASED
    assert order.problems == [ERASED, ERASED] and list(order.invoice_info.values()) == [ERASED] * 2
    assert order.delivery.transport_mode == "road"


def test_the_snapshot_of_an_erased_order_gives_its_customer_no_new_key(ledger: Ledger) -> None:
    """What an erased order holds is "[erased]": nothing to seal, so no key
    is made anew for it (the key table keeps the customer erased)."""
    marks = Markers()
    customer = Customer(marks.new(False), marks.new(True), marks.new(True), marks.new(True))
    order = full_order(marks, customer)
    stored_bytes(ledger, Order.Snapshot.take(order), customer.name)
    ledger.personal_keys.erase(customer.name)
    with stamped(Stamp(datetime(2026, 1, 6, tzinfo=UTC), {"reason": ERASED})):
        order.erase_personal_data()
    stored = stored_bytes(ledger, Order.Snapshot.take(order), customer.name)
    assert key_table_for(ledger).get(customer.name) is None
    assert state(cast(Any, ledger.mapper.to_domain_event(stored)).mutate(None)) == state(order)


def test_a_blank_personal_field_of_a_customer_stays_blank_once_erased(ledger: Ledger) -> None:
    """Fields sealed together say which of them were blank."""
    customer = Customer("Blank Fields Ltd", phone="", email="who@example.org", address="")
    event = Order.OrderReceived(  # type: ignore[call-arg]
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime(2026, 1, 5, tzinfo=UTC),
        originator_topic="ledger.aggregates.order:Order",
        number="SO-2026-000009",
        channel="phone",
        customer=customer,
        lines=lines_of(*STANDARD_LINES),
        currency="CNY",
        delivery=Delivery("1 Road", "", "", "road"),
        requested_date=None,
        split_from="",
        merged_from=[],
        meta={},
    )
    stored = stored_bytes(ledger, event, customer.name)
    ledger.personal_keys.erase(customer.name)
    decoded: Any = ledger.mapper.to_domain_event(stored)
    assert decoded.customer == Customer("Blank Fields Ltd", "", ERASED, "")
    assert decoded.delivery == Delivery(ERASED, "", "", "road")
    assert decoded == redacted(event)


def test_customer_and_delivery_seal_exactly_their_declared_fields() -> None:
    assert set(CUSTOMER_SEALED) == set(privacy_of(Customer).personal)
    assert set(DELIVERY_SEALED) == set(privacy_of(Delivery).personal)
    for cls in (Customer, Delivery):
        assert {f.name for f in dataclasses.fields(cls)} == {
            *privacy_of(cls).personal,
            *privacy_of(cls).public,
        }


def test_an_order_of_an_unknown_customer_is_never_stored_in_clear(ledger: Ledger) -> None:
    """Sealed under the "unowned" key rather than written in clear."""
    event = Order.OrderPutOnHold(  # type: ignore[call-arg]
        originator_id=UUID(int=7),
        originator_version=2,
        timestamp=datetime(2026, 1, 5, tzinfo=UTC),
        reason="ring the director at home",
        meta={"reason": "ring the director at home"},
    )
    stored = ledger.mapper.to_stored_event(event)
    assert b"director" not in bytes(stored.state)
    assert ledger.mapper.to_domain_event(stored) == event
