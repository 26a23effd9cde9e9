"""Every text an order's event, value or state can carry is declared personal
or public, in one place next to its class; erasing redacts exactly the
personal ones, at any depth."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.order import Order
from ledger.aggregates.privacy import ERASED, erased, privacy_of, redacted
from ledger.aggregates.state import STATE_TYPES, OrderState
from ledger.aggregates.values import VALUE_TYPES
from privacy_support import Markers, build_instance, classes_in, event_classes, faults_of, hints
from strategies import CUSTOMER, DELIVERY, STANDARD_LINES, lines_of


def declared_classes() -> list[type]:
    """The event classes and every value and state class they and the order hold."""
    found: list[type] = [*event_classes(), *VALUE_TYPES, *STATE_TYPES, OrderState]
    for cls in list(found):
        for kind in hints(cls).values():
            found.extend(c for c in classes_in(kind) if c not in found)
    return found


def test_every_text_field_of_every_event_value_and_state_class_is_declared() -> None:
    classes = declared_classes()
    assert len([c for c in classes if c in event_classes()]) >= 30
    assert [fault for cls in classes for fault in faults_of(cls)] == []


def test_an_undeclared_text_field_is_found() -> None:
    @dataclasses.dataclass
    class Careless:
        note: str
        tags: dict[str, int]
        count: int

    assert faults_of(Careless) == [
        f"{Careless.__qualname__}.note ({str}) is declared neither personal nor public",
        f"{Careless.__qualname__}.tags ({dict[str, int]}) is declared neither personal nor public",
    ]


def test_free_text_the_issue_names_is_personal() -> None:
    personal = {
        (cls.__name__, name) for cls in event_classes() for name in privacy_of(cls).personal
    }
    for expected in [
        ("OrderConfirmed", "invoice_info"),
        ("OrderConfirmed", "special_requirements"),
        ("VerificationFailed", "problems"),
        ("OrderPacked", "labels"),
        ("QualityIssueRaised", "description"),
        ("PurchaseReceived", "note"),
        ("OrderPutOnHold", "reason"),
        ("OrderPutOnHold", "meta.reason"),
        ("ComplaintFiled", "contact"),
        ("ShipmentDelivered", "received_by"),
    ]:
        assert expected in personal


def test_the_order_state_declares_every_attribute() -> None:
    """A snapshot stores every attribute: each is declared (the classes it
    holds declare their own fields)."""
    with stamped(Stamp(datetime(2026, 1, 5, tzinfo=UTC), {})):
        order = Order.receive(
            order_id=uuid4(),
            number="SO-2026-000001",
            channel="phone",
            customer=CUSTOMER,
            lines=lines_of(*STANDARD_LINES),
            delivery=DELIVERY,
        )
    privacy = privacy_of(Order)
    attributes = {name for name in vars(order) if not name.startswith("_")}
    assert attributes == {*privacy.personal, *privacy.public}
    assert not set(privacy.personal) & set(privacy.public)


def texts(value: Any) -> set[str]:
    """Every text in a value, dict keys included, at any depth."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {t for k, v in value.items() for t in texts(k) | texts(v)}
    if isinstance(value, list | tuple):
        return {t for item in value for t in texts(item)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {t for f in dataclasses.fields(value) for t in texts(getattr(value, f.name))}
    return set()


@given(cls=st.sampled_from(event_classes()))
def test_redacting_erases_every_personal_text_and_keeps_every_public_one(cls: type) -> None:
    marks = Markers()
    event = build_instance(cls, marks)
    left = texts(redacted(event))
    assert marks.personal.isdisjoint(left)
    assert marks.public <= left
    assert (ERASED in left) == bool(marks.personal)
    assert texts(event) - {"reason"} == marks.personal | marks.public  # but the metadata's key


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_an_erased_value_keeps_its_shape_and_its_blanks(value: Any) -> None:
    gone = erased(value)
    assert texts(gone) <= {ERASED, ""} | keys_of(value)
    assert shape(gone) == shape(value)


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {k for k, v in value.items() for k in (k, *keys_of(v))}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def shape(value: Any) -> Any:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, list):
        return [shape(v) for v in value]
    return {k: shape(v) for k, v in value.items()}
