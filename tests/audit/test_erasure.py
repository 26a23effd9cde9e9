"""After a customer is erased no stored byte, export, replay, view or log line
holds their phone, email, addresses, complaint contact or the name of who
received a delivery, while the chain verifies and the figures stay."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from audit_helpers import five_event_order, make_ledger, raw_store

from ledger.aggregates.readout import describe
from ledger.aggregates.values import ERASED, Customer, Delivery, SkuQty
from ledger.application import Ctx, Ledger
from ledger.audit.erasure import erase_customer
from ledger.audit.export import export_lines
from ledger.audit.replay import replay
from ledger.audit.service import verify_store
from ledger.settings import Settings
from ledger.worker.restore import rebuild_projections
from strategies import PROMISED

EVE = Customer("Eve Trading Co", "+86 139 5555 0199", "eve.secret@example.org", "88 Hidden Lane")
EVE_DELIVERY = Delivery("99 Secret Road", "Eve Consignee", "+86 139 4444 0188", "road")
EVE_CONTACT = "call Eve's assistant on +86 139 7777 0177"
EVE_RECEIVER = "Eve Receiver Zhang"
SECRETS = [
    "5555 0199",
    "eve.secret@example.org",
    "Hidden Lane",
    "Secret Road",
    "Eve Consignee",
    "4444 0188",
    "7777 0177",
    "Eve Receiver",
]


def eve_order(ledger: Ledger) -> UUID:
    """Eve's order with every personal field: customer, delivery, a complaint's
    contact, and a delivered shipment's receiver."""
    order = five_event_order(ledger, EVE)
    ledger.amend(Ctx(), order, reason="new dock", delivery=EVE_DELIVERY)
    lines = [SkuQty(sku, line.quantity) for sku, line in ledger.get_order(order).lines.items()]
    ctx = Ctx()
    ledger.schedule_shipment(
        ctx, order, shipment_id="S1", planned_date=PROMISED, lines=lines, carrier="SF", mode="road"
    )
    for kind in ("dispatch_note", "waybill"):
        ledger.issue_document(
            ctx, order, shipment_id="S1", kind=kind, number=kind, status="submitted"
        )
    ledger.dispatch(ctx, order, shipment_id="S1", tracking_number="SF1")
    ledger.deliver(ctx, order, shipment_id="S1", received_by=EVE_RECEIVER)
    ledger.file_complaint(
        ctx,
        order,
        complaint_id="C1",
        channel="phone",
        category="damage",
        description="two cartons dented",
        contact=EVE_CONTACT,
    )
    return order


def leaks(data: bytes) -> list[str]:
    found = [s for s in SECRETS if s.encode() in data]
    # bytea columns read as hex in PostgreSQL's text form
    return found + [s for s in SECRETS if s.encode().hex().encode() in data]


def test_personal_data_is_never_stored_in_clear(sql_settings: Settings) -> None:
    ledger = make_ledger(sql_settings)
    order = eve_order(ledger)
    rebuild_projections(ledger)
    fresh = make_ledger(sql_settings)  # decodes the stored events, no cached aggregate
    for app in (ledger, fresh):
        live = app.get_order(order)  # readable while the key lives
        assert live.customer == EVE
        assert live.complaints["C1"].contact == EVE_CONTACT
        assert live.shipments["S1"].received_by == EVE_RECEIVER
    assert leaks(raw_store(sql_settings)) == []
    fresh.close()
    ledger.close()


def test_personal_text_is_sealed_in_snapshots_too(tmp_path: Path) -> None:
    """With a snapshot every event, the order's state is stored as a whole."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'l.db'}", snapshot_interval=1)
    ledger = make_ledger(settings)
    order = eve_order(ledger)
    ledger.close()
    assert leaks(raw_store(settings)) == []
    fresh = make_ledger(settings)
    state = fresh.get_order(order)
    assert (state.complaints["C1"].contact, state.shipments["S1"].received_by) == (
        EVE_CONTACT,
        EVE_RECEIVER,
    )
    erase_customer(fresh, EVE.name)
    erased = make_ledger(settings).get_order(order)
    assert (erased.complaints["C1"].contact, erased.shipments["S1"].received_by) == (
        ERASED,
        ERASED,
    )
    fresh.close()


def figures(state: dict[str, Any]) -> Any:
    """What erasure must not touch (a promise's reason is free text: erased too)."""
    dates = [promise["promised_date"] for promise in state["promises"]]
    return state["facets"], state["lines"], dates, state["created_at"]


def test_erasure_leaves_no_trace_and_keeps_the_chain_and_the_figures(
    sql_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ledger = make_ledger(sql_settings)
    order, other = eve_order(ledger), five_event_order(ledger)
    before = describe(ledger.get_order(order))

    assert erase_customer(ledger, EVE.name) == [order]

    fresh = make_ledger(sql_settings)  # no cached aggregates or keys
    for app in (ledger, fresh):
        after = app.get_order(order)
        assert (after.customer.name, after.customer.phone, after.customer.email) == (
            EVE.name,
            ERASED,
            ERASED,
        )
        assert after.delivery.consignee == ERASED
        assert after.complaints["C1"].contact == ERASED
        assert after.shipments["S1"].received_by == ERASED
        assert figures(describe(after)) == figures(before)
        assert app.get_order(order, version=3).customer.address == ERASED
    erased = list(fresh.events.get(order))[-1]
    assert type(erased).__name__ == "PersonalDataErased"
    assert fresh.get_order(other).customer.phone != ERASED
    report = verify_store(fresh)
    assert report.ok and report.orders == 2

    rebuild_projections(fresh)
    exported = b"".join(export_lines(fresh, [order]))
    replayed = str(replay(fresh, order).as_json()).encode()
    history = str(fresh.history(order)).encode()
    assert leaks(exported) == leaks(replayed) == leaks(history) == []
    assert leaks(raw_store(sql_settings)) == []
    assert leaks(caplog.text.encode()) == []
    fresh.close()
    ledger.close()
