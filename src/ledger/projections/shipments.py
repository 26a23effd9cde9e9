"""Shipments: where each one is, open transit exceptions, and its document
checklist.

A row per order holds its shipments exactly as the aggregate keeps them
(status, transit status, location, carrier, documents); the query
flattens them. The checklist asks the aggregate's own rules which
documents a shipment needs, so it always matches the dispatch guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.aggregates import rules
from ledger.aggregates.order import Order
from ledger.aggregates.stages import Status
from ledger.aggregates.state import DocumentState, ShipmentState
from ledger.aggregates.values import TRANSIT_EXCEPTIONS
from ledger.projections.facts import replace
from ledger.projections.framework import Column, Filter, View
from ledger.projections.rowkit import (
    StepModel,
    choice,
    iso,
    page_of,
    status_events,
    with_status,
)
from ledger.projections.steps import Steps

STATUSES = ("planned", "packed", "dispatched", "delivered")


@dataclass(frozen=True)
class Document:
    number: str
    status: str
    discrepancy: str = ""


@dataclass(frozen=True)
class Shipment:
    """One shipment as the aggregate's ``ShipmentState`` has it."""

    planned_date: str
    carrier: str
    mode: str
    export: bool
    lines: dict[str, int]
    status: str = "planned"
    transit_status: str = ""
    location: str = ""
    tracking_number: str = ""
    reschedules: int = 0
    documents: dict[str, Document] = field(default_factory=dict)
    dispatched_at: str | None = None
    delivered_at: str | None = None

    @property
    def has_exception(self) -> bool:
        """Delayed, damaged or lost, and not delivered yet."""
        return self.status == "dispatched" and self.transit_status in TRANSIT_EXCEPTIONS


@dataclass(frozen=True)
class ShipmentsRow:
    order_id: str
    number: str
    customer: str
    version: int
    status: str = Status.RECEIVED
    shipments: dict[str, Shipment] = field(default_factory=dict)


def _changed(row: ShipmentsRow, sid: str, **changes: Any) -> ShipmentsRow:
    return replace(row, shipments={**row.shipments, sid: replace(row.shipments[sid], **changes)})


def _scheduled(row: ShipmentsRow, e: Any) -> ShipmentsRow:
    lines = {i.sku: i.quantity for i in e.lines}
    shipment = Shipment(e.planned_date.isoformat(), e.carrier, e.mode, e.export, lines)
    return replace(row, shipments={**row.shipments, e.shipment_id: shipment})


def _document(row: ShipmentsRow, sid: str, kind: str, document: Document) -> ShipmentsRow:
    documents = {**row.shipments[sid].documents, kind: document}
    return _changed(row, sid, documents=documents)


def _rescheduled(row: ShipmentsRow, e: Any) -> ShipmentsRow:
    shipment = row.shipments[e.shipment_id]
    return _changed(
        row,
        e.shipment_id,
        planned_date=e.planned_date.isoformat(),
        carrier=e.carrier or shipment.carrier,
        reschedules=shipment.reschedules + 1,
    )


def _dispatched(row: ShipmentsRow, e: Any) -> ShipmentsRow:
    return _changed(
        row,
        e.shipment_id,
        lines={i.sku: i.quantity for i in e.lines},
        carrier=e.carrier or row.shipments[e.shipment_id].carrier,
        tracking_number=e.tracking_number,
        status="dispatched",
        transit_status="in_transit",
        dispatched_at=e.timestamp.isoformat(),
    )


STEPS: Steps[ShipmentsRow] = (
    Steps[ShipmentsRow]()
    .on_each(status_events(), with_status)
    .on(Order.ShipmentScheduled, _scheduled)
    .on(Order.ShipmentRescheduled, _rescheduled)
    .on(Order.OrderPacked, lambda r, e: _changed(r, e.shipment_id, status="packed"))
    .on(
        Order.DocumentIssued,
        lambda r, e: _document(r, e.shipment_id, e.kind, Document(e.number, e.status)),
    )
    .on(
        Order.DocumentStatusChanged,
        lambda r, e: _document(
            r,
            e.shipment_id,
            e.kind,
            Document(r.shipments[e.shipment_id].documents[e.kind].number, e.status, e.discrepancy),
        ),
    )
    .on(Order.ShipmentDispatched, _dispatched)
    .on(
        Order.TransitUpdated,
        lambda r, e: _changed(r, e.shipment_id, transit_status=e.status, location=e.location),
    )
    .on(
        Order.ShipmentDelivered,
        lambda r, e: _changed(
            r, e.shipment_id, status="delivered", transit_status="", delivered_at=iso(e.timestamp)
        ),
    )
)


class ShipmentsModel(StepModel[ShipmentsRow]):
    """A row per order; the list shows the orders with shipments."""

    name = "shipments"
    steps = STEPS
    topics = STEPS.topics()
    columns = (
        Column("number", "text", lambda r: r.number),
        Column("customer", "text", lambda r: r.customer),
        Column("shipments", "int", lambda r: len(r.shipments)),
        Column("exceptions", "int", lambda r: sum(s.has_exception for s in r.shipments.values())),
    )

    def received(self, e: Any) -> ShipmentsRow:
        return ShipmentsRow(str(e.originator_id), e.number, e.customer.name, e.originator_version)

    def from_plain(self, raw: dict[str, Any]) -> ShipmentsRow:
        shipments = {sid: _shipment(s) for sid, s in raw.pop("shipments").items()}
        return ShipmentsRow(**raw, shipments=shipments)


def _shipment(raw: dict[str, Any]) -> Shipment:
    documents = {kind: Document(**d) for kind, d in raw.pop("documents").items()}
    return Shipment(**raw, documents=documents)


SHIPMENTS = ShipmentsModel()


def as_state(sid: str, shipment: Shipment) -> ShipmentState:
    """The aggregate's view of the shipment, enough for its document rules."""
    state = ShipmentState(
        sid,
        date.fromisoformat(shipment.planned_date),
        dict(shipment.lines),
        shipment.carrier,
        shipment.mode,
        Decimal(0),
        shipment.export,
        status=shipment.status,
    )
    for kind, d in shipment.documents.items():
        state.documents[kind] = DocumentState(kind, d.number, d.status, d.discrepancy)
    return state


def checklist(sid: str, shipment: Shipment) -> list[dict[str, Any]]:
    """The required documents (each with its number, status, and whether it
    is ready for dispatch), then any other documents issued."""
    state = as_state(sid, shipment)
    required = rules.required_documents(state)
    missing = set(rules.missing_documents(state))
    kinds = [*required, *sorted(k for k in shipment.documents if k not in required)]
    items = []
    for kind in kinds:
        document = shipment.documents.get(kind)
        items.append(
            {
                "kind": kind,
                "required": kind in required,
                "number": document.number if document else None,
                "status": document.status if document else "missing",
                "discrepancy": document.discrepancy if document else "",
                "ready": kind not in missing,
            }
        )
    return items


def shipment_item(row: ShipmentsRow, sid: str, shipment: Shipment) -> dict[str, Any]:
    documents = checklist(sid, shipment)
    return {
        "order_id": row.order_id,
        "number": row.number,
        "customer": row.customer,
        "order_status": row.status,
        "shipment_id": sid,
        "carrier": shipment.carrier,
        "mode": shipment.mode,
        "export": shipment.export,
        "planned_date": shipment.planned_date,
        "reschedules": shipment.reschedules,
        "status": shipment.status,
        "transit_status": shipment.transit_status,
        "location": shipment.location,
        "tracking_number": shipment.tracking_number,
        "open_exception": shipment.has_exception,
        "lines": dict(shipment.lines),
        "documents": documents,
        "documents_ready": all(d["ready"] for d in documents if d["required"]),
        "dispatched_at": shipment.dispatched_at,
        "delivered_at": shipment.delivered_at,
    }


def shipment_list(
    view: View[ShipmentsRow],
    *,
    status: str | None = None,
    exception_only: bool = False,
    carrier: str | None = None,
    customer: str | None = None,
    number: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Shipments by planned date, filtered by shipment status, open transit
    exception, carrier, customer and order number; counts of all matches."""
    choice("status", status, STATUSES)
    filters: list[Filter] = [("exceptions" if exception_only else "shipments", ">", 0)]
    if customer is not None:
        filters.append(("customer", "=", customer))
    if number is not None:
        filters.append(("number", "=", number))
    items = [
        shipment_item(row, sid, s)
        for row in view.select(filters)
        for sid, s in row.shipments.items()
        if (status is None or s.status == status)
        and (not exception_only or s.has_exception)
        and (carrier is None or s.carrier == carrier)
    ]
    items.sort(key=lambda i: (i["planned_date"], i["number"], i["shipment_id"]))
    summary = {
        "by_status": {s: sum(1 for i in items if i["status"] == s) for s in STATUSES},
        "open_exceptions": sum(1 for i in items if i["open_exception"]),
        "documents_not_ready": sum(
            1 for i in items if not i["documents_ready"] and i["status"] in ("planned", "packed")
        ),
    }
    return page_of(items, limit, offset, summary=summary)
