"""Packing, transport documents, dispatch, short-close, transit and delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase, consume_allocation
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.state import DocumentState, PackingState
from ledger.aggregates.values import SkuQty

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


class Shipping(OrderBase):
    """Commands that move the goods."""

    # -- packing and documents ---------------------------------------------

    class OrderPacked(Aggregate.Event):
        shipment_id: str
        packages: int
        materials: str
        labels: list[str]
        privacy = Privacy(personal=("materials", "labels"), public=("shipment_id",))

        def evolve(self, order: Order) -> None:
            shipment = order.shipments[self.shipment_id]
            shipment.packing = PackingState(self.packages, self.materials, list(self.labels))
            shipment.status = "packed"

    def pack(
        self, *, shipment_id: str, packages: int, materials: str = "", labels: Sequence[str] = ()
    ) -> None:
        """Record the packing of a shipment: packages, materials, labels."""
        self._require_confirmed()
        self._require_shipment_not_dispatched(shipment_id)
        rules.require_quantity(packages, what="packages")
        self.trigger_event(
            self.OrderPacked,
            shipment_id=shipment_id,
            packages=packages,
            materials=materials,
            labels=list(labels),
        )

    class DocumentIssued(Aggregate.Event):
        shipment_id: str
        kind: str
        number: str
        status: str
        privacy = Privacy(public=("shipment_id", "kind", "number", "status"))

        def evolve(self, order: Order) -> None:
            order.shipments[self.shipment_id].documents[self.kind] = DocumentState(
                self.kind, self.number, self.status
            )

    def issue_document(
        self, *, shipment_id: str, kind: str, number: str, status: str = "drafted"
    ) -> None:
        """Issue a transport document for a shipment (drafted unless given)."""
        self._require_confirmed()
        shipment = self._require_shipment(shipment_id)
        if shipment.status == "delivered":
            raise DomainError("shipment_already_delivered", f"shipment {shipment_id} is delivered")
        rules.require_choice("kind", kind, rules.DOCUMENT_KINDS)
        rules.require_text("document number", number)
        rules.require_choice("status", status, ("drafted", "reviewed", "submitted", "cleared"))
        existing = shipment.documents.get(kind)
        if existing is not None and existing.status != "rejected":
            raise DomainError(
                "document_already_issued",
                f"{kind} {existing.number} is already issued for shipment {shipment_id}",
            )
        self.trigger_event(
            self.DocumentIssued, shipment_id=shipment_id, kind=kind, number=number, status=status
        )

    class DocumentStatusChanged(Aggregate.Event):
        shipment_id: str
        kind: str
        status: str
        discrepancy: str
        privacy = Privacy(personal=("discrepancy",), public=("shipment_id", "kind", "status"))

        def evolve(self, order: Order) -> None:
            document = order.shipments[self.shipment_id].documents[self.kind]
            document.status = self.status
            document.discrepancy = self.discrepancy

    def change_document_status(
        self, *, shipment_id: str, kind: str, status: str, discrepancy: str = ""
    ) -> None:
        """Move a document through drafted → reviewed → submitted → cleared,
        or reject it with the discrepancy found (then it is drafted again)."""
        self._require_confirmed()
        shipment = self._require_shipment(shipment_id)
        document = shipment.documents.get(kind)
        if document is None:
            raise DomainError("unknown_document", f"no {kind} for shipment {shipment_id}")
        rules.require_document_transition(document.status, status)
        if status == "rejected":
            rules.require_text("discrepancy", discrepancy)
        self.trigger_event(
            self.DocumentStatusChanged,
            shipment_id=shipment_id,
            kind=kind,
            status=status,
            discrepancy=discrepancy,
        )

    # -- dispatch, short-close, transit, delivery ----------------------------

    class ShipmentDispatched(Aggregate.Event):
        shipment_id: str
        lines: list[SkuQty]
        carrier: str
        tracking_number: str
        privacy = Privacy(public=("shipment_id", "carrier", "tracking_number"))

        def evolve(self, order: Order) -> None:
            shipment = order.shipments[self.shipment_id]
            shipment.lines = {item.sku: item.quantity for item in self.lines}
            shipment.carrier = self.carrier or shipment.carrier
            shipment.tracking_number = self.tracking_number
            shipment.status = "dispatched"
            shipment.transit_status = "in_transit"
            shipment.dispatched_at = self.timestamp
            for item in self.lines:
                line = order.lines[item.sku]
                line.shipped += item.quantity
                consume_allocation(line, item.quantity)

    def dispatch(
        self,
        *,
        shipment_id: str,
        tracking_number: str,
        lines: Sequence[SkuQty] | None = None,
        carrier: str = "",
    ) -> None:
        """Send a shipment: never more than ordered, not while on hold or with an
        open critical quality issue, and only with its documents submitted."""
        self._require_confirmed()
        self._require_not_on_hold("dispatched")
        shipment = self._require_shipment_not_dispatched(shipment_id)
        rules.require_text("tracking number", tracking_number)
        critical = [q.issue_id for q in self.quality_issues.values() if q.is_blocking()]
        if critical:
            raise DomainError(
                "open_critical_quality_issue",
                "resolve the critical quality issue before dispatch",
                issues=critical,
            )
        missing = rules.missing_documents(shipment)
        if missing:
            raise DomainError(
                "required_documents_missing",
                "documents must be at least submitted before dispatch: " + ", ".join(missing),
                missing=missing,
            )
        items = (
            list(lines)
            if lines is not None
            else [SkuQty(sku, qty) for sku, qty in shipment.lines.items()]
        )
        rules.require_sku_quantities(items, self.lines)
        for item in items:
            self._require_can_ship(shipment, item)
        self.trigger_event(
            self.ShipmentDispatched,
            shipment_id=shipment_id,
            lines=items,
            carrier=carrier,
            tracking_number=tracking_number,
        )

    class LineShortClosed(Aggregate.Event):
        sku: str
        quantity: int
        reason: str
        privacy = Privacy(personal=("reason",), public=("sku",))

        def evolve(self, order: Order) -> None:
            order.lines[self.sku].short_closed += self.quantity

    def short_close(self, *, sku: str, quantity: int, reason: str) -> None:
        """Write off an open remainder that will never ship."""
        self._require_confirmed()
        rules.require_text("reason", reason)
        line = self._require_line(sku)
        rules.require_quantity(quantity)
        unplanned = line.due - self.planned_quantities().get(sku, 0)
        if quantity > unplanned:
            raise DomainError(
                "cannot_short_close_more_than_open",
                f"{sku}: only {unplanned} is open and not planned for shipment",
                sku=sku,
                open=unplanned,
                requested=quantity,
            )
        if line.open - quantity < line.allocated_total:
            raise DomainError(
                "cannot_short_close_allocated_quantity",
                f"{sku}: release allocated stock before writing it off",
                allocated=line.allocated_total,
            )
        self.trigger_event(self.LineShortClosed, sku=sku, quantity=quantity, reason=reason)

    class TransitUpdated(Aggregate.Event):
        shipment_id: str
        status: str
        location: str
        note: str
        privacy = Privacy(personal=("location", "note"), public=("shipment_id", "status"))

        def evolve(self, order: Order) -> None:
            shipment = order.shipments[self.shipment_id]
            shipment.transit_status = self.status
            shipment.location = self.location

    def update_transit(
        self, *, shipment_id: str, status: str, location: str = "", note: str = ""
    ) -> None:
        """Record where a dispatched shipment is and whether something went wrong."""
        self._require_confirmed()
        self._require_in_transit(shipment_id)
        rules.require_choice("status", status, rules.TRANSIT_STATUSES)
        self.trigger_event(
            self.TransitUpdated,
            shipment_id=shipment_id,
            status=status,
            location=location,
            note=note,
        )

    class ShipmentDelivered(Aggregate.Event):
        shipment_id: str
        received_by: str
        privacy = Privacy(personal=("received_by",), public=("shipment_id",))

        def evolve(self, order: Order) -> None:
            shipment = order.shipments[self.shipment_id]
            shipment.status = "delivered"
            shipment.transit_status = ""
            shipment.received_by = self.received_by
            shipment.delivered_at = self.timestamp
            for sku, quantity in shipment.lines.items():
                order.lines[sku].delivered += quantity

    def deliver(self, *, shipment_id: str, received_by: str) -> None:
        """The customer received a dispatched shipment."""
        self._require_confirmed()
        self._require_in_transit(shipment_id)
        rules.require_text("received by", received_by)
        self.trigger_event(self.ShipmentDelivered, shipment_id=shipment_id, received_by=received_by)
