"""The complaint register, customer statements, the shipment list and the
archive index answer what a merchandiser asks of them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, SkuQty
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.persistence.personal import open_sealed
from ledger.projections.archive import ARCHIVE, archive_index
from ledger.projections.complaints import COMPLAINTS, complaint_register
from ledger.projections.framework import ReadModel, Source, catch_up
from ledger.projections.runner import open_view
from ledger.projections.shipments import SHIPMENTS, shipment_list
from ledger.projections.statements import STATEMENTS, customer_balances, statement
from ledger.projections.timetravel import view_as_of
from ledger.settings import Settings

CTX = Ctx(actor="merchandiser")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASS = {"customer": True, "product": True, "delivery": True}


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def app(clock: SimulatedClock) -> Ledger:
    return Ledger(Settings(database_url="memory://"), clock)


def confirmed(
    app: Ledger, customer: str = "王小明", currency: str = "CNY", prepay: int = 0
) -> UUID:
    oid = app.receive(
        CTX,
        channel="email",
        customer=Customer(customer),
        lines=[Line("A", "产品 A", 2, Decimal(50))],
        delivery=Delivery("上海", "李四"),
        currency=currency,
    ).order.id
    app.verify(CTX, oid, checks=PASS)
    terms = PaymentTerms("bank_transfer", 30, Decimal(prepay))
    app.confirm(CTX, oid, promised_date=date(2026, 4, 1), payment_terms=terms)
    return oid


def ship(app: Ledger, oid: UUID, *, mode: str = "road", export: bool = False) -> None:
    app.schedule_shipment(CTX, oid, shipment_id="S1", planned_date=date(2026, 3, 9),
                          lines=[SkuQty("A", 2)], carrier="COSCO", mode=mode,
                          export=export)  # fmt: skip
    for kind in ("dispatch_note", "bill_of_lading" if mode == "sea" else "waybill"):
        app.issue_document(CTX, oid, shipment_id="S1", kind=kind, number=kind, status="submitted")
    if export:
        app.issue_document(CTX, oid, shipment_id="S1", kind="customs_declaration", number="CD1",
                           status="submitted")  # fmt: skip
    app.dispatch(CTX, oid, shipment_id="S1", tracking_number="SF1")


def view_of(app: Ledger, model: ReadModel[Any]) -> Any:
    view = open_view(app, model)
    catch_up(view, Source.of(app))
    return view


def test_the_register_lists_complaints_and_quality_issues_with_cost_and_time_to_resolve(
    app: Ledger, clock: SimulatedClock
) -> None:
    oid = confirmed(app)
    app.file_complaint(CTX, oid, complaint_id="C1", channel="phone", category="late",
                       description="迟到")  # fmt: skip
    app.raise_quality_issue(CTX, oid, issue_id="Q1", severity="critical", category="scratch",
                            description="划痕")  # fmt: skip
    clock.advance(timedelta(days=2))
    app.resolve_quality_issue(CTX, oid, issue_id="Q1", resolution="compensation",
                              amount=Decimal(120))  # fmt: skip
    view = view_of(app, COMPLAINTS)
    everything = complaint_register(view)
    assert [(i["kind"], i["id"]) for i in everything["items"]] == [
        ("quality", "Q1"), ("complaint", "C1"),
    ]  # fmt: skip
    assert everything["summary"]["cost"] == {"CNY": "120"}
    issue = complaint_register(view, kind="quality", severity="critical")["items"][0]
    assert (issue["status"], issue["cost"], issue["days_to_resolve"]) == ("resolved", "120", 2.0)
    open_ = complaint_register(view, status="open", customer="王小明")
    assert [i["id"] for i in open_["items"]] == ["C1"] and open_["items"][0]["cost"] is None
    assert complaint_register(view, customer="nobody")["total"] == 0
    bads: list[dict[str, Any]] = [{"status": "closed"}, {"kind": "praise"}, {"severity": "huge"}]
    for bad in bads:
        with pytest.raises(ValueError):
            complaint_register(view, **bad)


def test_a_statement_shows_the_earliest_unpaid_invoice_due_and_overdue_on_the_day(
    app: Ledger, clock: SimulatedClock
) -> None:
    oid = confirmed(app, prepay=30)
    app.invoice(CTX, oid, invoice_number="INV-1", amount=Decimal(30), issued_on=date(2026, 3, 2))
    clock.advance(timedelta(days=1))
    ship(app, oid)
    app.deliver(CTX, oid, shipment_id="S1", received_by="李四")
    app.invoice(CTX, oid, invoice_number="INV-2", amount=Decimal(70), issued_on=date(2026, 3, 20))
    app.receive_payment(CTX, oid, reference="P1", amount=Decimal(20), received_on=date(2026, 3, 25))
    confirmed(app, currency="USD")
    view = view_of(app, STATEMENTS)
    early = statement(view, "王小明", now=date(2026, 3, 31))
    line = early["items"][0]
    assert (line["invoiced"], line["paid"], line["outstanding"]) == ("100", "20", "80")
    assert (line["due_date"], line["overdue"]) == ("2026-04-01", False)
    late = statement(view, "王小明", now=datetime(2026, 4, 5, tzinfo=UTC), overdue_only=True)
    assert late["total"] == 1 and late["items"][0]["days_overdue"] == 4
    app.receive_payment(CTX, oid, reference="P2", amount=Decimal(20), received_on=date(2026, 4, 6))
    app.issue_credit_note(CTX, oid, credit_note_number="CN1", amount=Decimal(5), reason="rebate")
    catch_up(view, Source.of(app))
    now = statement(view, "王小明", now=date(2026, 4, 10))
    assert [i["number"] for i in now["items"]] == sorted(i["number"] for i in now["items"])
    line = next(i for i in now["items"] if i["order_id"] == str(oid))
    assert (line["outstanding"], line["due_date"], line["overdue"]) == ("55", "2026-04-19", False)
    assert now["totals"]["CNY"]["outstanding"] == "55" and now["totals"]["USD"]["total"] == "100.00"
    assert now["totals"]["USD"]["outstanding"] == "0"
    assert statement(view, "王小明", now=date(2026, 4, 10), open_only=True)["total"] == 1
    balances = customer_balances(view, now=date(2026, 4, 20))["items"]
    assert balances == [
        {"customer": "王小明", "currency": "CNY", "orders": 1, "earliest_due": "2026-04-19",
         "outstanding": "55", "overdue": "55"},
    ]  # fmt: skip
    as_of = view_as_of(Source.of(app), STATEMENTS, T0 + timedelta(hours=1))
    past = statement(as_of, "王小明", now=T0)
    assert [(i["invoiced"], i["due_date"]) for i in past["items"]] == [("30", "2026-04-01")]
    with pytest.raises(ValueError):
        statement(view, "", now=T0)


def test_the_shipment_list_shows_the_document_checklist_and_open_exceptions(
    app: Ledger,
) -> None:
    oid = confirmed(app)
    app.schedule_shipment(CTX, oid, shipment_id="S1", planned_date=date(2026, 3, 9),
                          lines=[SkuQty("A", 2)], carrier="COSCO", mode="sea",
                          export=True)  # fmt: skip
    app.issue_document(CTX, oid, shipment_id="S1", kind="dispatch_note", number="DN1",
                       status="submitted")  # fmt: skip
    app.issue_document(CTX, oid, shipment_id="S1", kind="bill_of_lading", number="BL1")
    view = view_of(app, SHIPMENTS)
    planned = shipment_list(view, status="planned")["items"][0]
    assert [(d["kind"], d["status"], d["ready"]) for d in planned["documents"]] == [
        ("dispatch_note", "submitted", True),
        ("bill_of_lading", "drafted", False),
        ("customs_declaration", "missing", False),
    ]
    assert planned["documents_ready"] is False and planned["open_exception"] is False
    other = confirmed(app, customer="María González")
    ship(app, other, mode="sea", export=True)
    app.update_transit(CTX, other, shipment_id="S1", status="delayed", location="宁波港")
    catch_up(view, Source.of(app))
    late = shipment_list(view, exception_only=True, carrier="COSCO")
    assert late["total"] == 1 and late["items"][0]["customer"] == "María González"
    item = open_sealed(late["items"][0], app.personal_keys)  # as the API answers
    assert (item["transit_status"], item["location"], item["documents_ready"]) == (
        "delayed", "宁波港", True,
    )  # fmt: skip
    app.deliver(CTX, other, shipment_id="S1", received_by="李四")
    catch_up(view, Source.of(app))
    assert shipment_list(view, exception_only=True)["total"] == 0
    assert shipment_list(view)["summary"]["by_status"] == {
        "planned": 1, "packed": 0, "dispatched": 0, "delivered": 1,
    }  # fmt: skip
    assert shipment_list(view, carrier="顺丰")["total"] == 0
    with pytest.raises(ValueError):
        shipment_list(view, status="lost")


def test_the_archive_index_finds_archived_orders_by_period_number_and_customer(
    app: Ledger, clock: SimulatedClock
) -> None:
    settled = confirmed(app)
    ship(app, settled)
    app.deliver(CTX, settled, shipment_id="S1", received_by="李四")
    app.invoice(CTX, settled, invoice_number="I1", amount=Decimal(100), issued_on=T0.date())
    app.receive_payment(CTX, settled, reference="P1", amount=Decimal(100), received_on=T0.date())
    app.settle(CTX, settled)
    app.archive(CTX, settled, archive_ref="AR-1")
    cancelled = confirmed(app, customer="María González")
    app.cancel(CTX, cancelled, reason="withdrawn")
    clock.set(datetime(2026, 4, 3, tzinfo=UTC))
    app.archive(CTX, cancelled, archive_ref="AR-2")
    confirmed(app)  # live, not in the index
    view = view_of(app, ARCHIVE)
    index = archive_index(view)
    assert [(i["archive_ref"], i["period"], i["closed_as"]) for i in index["items"]] == [
        ("AR-1", "2026-03", "settled"), ("AR-2", "2026-04", "cancelled"),
    ]  # fmt: skip
    assert index["items"][0]["total"] == "100.00"
    assert archive_index(view, period="2026-04")["items"][0]["customer"] == "María González"
    assert archive_index(view, period="2026")["total"] == 2
    number = index["items"][0]["number"]
    assert archive_index(view, number=number, customer="王小明")["total"] == 1
    assert archive_index(view, customer="王小明", period="2026-04")["total"] == 0
    for bad in ("2026-13", "26-01", "2026/04"):
        with pytest.raises(ValueError):
            archive_index(view, period=bad)
