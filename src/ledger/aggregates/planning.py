"""Planning shipments, reserving stock, buying parts, following production and quality."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.stages import Status
from ledger.aggregates.state import PurchaseState, QualityIssueState, ShipmentState
from ledger.aggregates.values import PurchaseItem, SkuQty

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


class Planning(OrderBase):
    """Commands that prepare the goods."""

    # -- shipment planning ------------------------------------------------

    class ShipmentScheduled(Aggregate.Event):
        shipment_id: str
        planned_date: date
        lines: list[SkuQty]
        carrier: str
        mode: str
        estimated_cost: Decimal
        export: bool
        privacy = Privacy(public=("shipment_id", "carrier", "mode"))

        def evolve(self, order: Order) -> None:
            order.shipments[self.shipment_id] = ShipmentState(
                shipment_id=self.shipment_id,
                planned_date=self.planned_date,
                lines={item.sku: item.quantity for item in self.lines},
                carrier=self.carrier,
                mode=self.mode,
                estimated_cost=self.estimated_cost,
                export=self.export,
            )

    def schedule_shipment(
        self,
        *,
        shipment_id: str,
        planned_date: date,
        lines: Sequence[SkuQty],
        carrier: str,
        mode: str,
        estimated_cost: Decimal = Decimal(0),
        export: bool = False,
    ) -> None:
        """Plan a shipment; never more than ordered minus already planned."""
        self._require_confirmed()
        rules.require_text("shipment id", shipment_id)
        if shipment_id in self.shipments:
            raise DomainError("duplicate_shipment", f"shipment {shipment_id} already exists")
        rules.require_business_date("planned_date", planned_date)
        rules.require_choice("mode", mode, rules.TRANSPORT_MODES)
        rules.require_amount_not_negative("estimated cost", estimated_cost)
        rules.require_sku_quantities(lines, self.lines)
        planned = self.planned_quantities()
        for item in lines:
            line = self.lines[item.sku]
            if planned.get(item.sku, 0) + item.quantity > line.due:
                raise DomainError(
                    "cannot_plan_more_than_ordered",
                    f"{item.sku}: {item.quantity} more would plan beyond what is ordered",
                    sku=item.sku,
                    ordered=line.due,
                    planned=planned.get(item.sku, 0),
                    requested=item.quantity,
                )
        self.trigger_event(
            self.ShipmentScheduled,
            shipment_id=shipment_id,
            planned_date=planned_date,
            lines=list(lines),
            carrier=carrier,
            mode=mode,
            estimated_cost=estimated_cost,
            export=export,
        )

    class ShipmentRescheduled(Aggregate.Event):
        shipment_id: str
        planned_date: date
        carrier: str
        reason: str
        privacy = Privacy(personal=("reason",), public=("shipment_id", "carrier"))

        def evolve(self, order: Order) -> None:
            shipment = order.shipments[self.shipment_id]
            shipment.planned_date = self.planned_date
            if self.carrier:
                shipment.carrier = self.carrier
            shipment.reschedules += 1

    def reschedule_shipment(
        self, *, shipment_id: str, planned_date: date, reason: str, carrier: str = ""
    ) -> None:
        """Move a shipment that has not left yet to another date (or carrier)."""
        self._require_confirmed()
        rules.require_text("reason", reason)
        self._require_shipment_not_dispatched(shipment_id)
        rules.require_business_date("planned_date", planned_date)
        self.trigger_event(
            self.ShipmentRescheduled,
            shipment_id=shipment_id,
            planned_date=planned_date,
            carrier=carrier,
            reason=reason,
        )

    # -- stock --------------------------------------------------------------

    class StockAllocated(Aggregate.Event):
        sku: str
        quantity: int
        warehouse: str
        privacy = Privacy(public=("sku", "warehouse"))

        def evolve(self, order: Order) -> None:
            allocated = order.lines[self.sku].allocated
            allocated[self.warehouse] = allocated.get(self.warehouse, 0) + self.quantity

    def allocate_stock(self, *, sku: str, quantity: int, warehouse: str) -> None:
        """Reserve stock from a warehouse for the line's open quantity."""
        self._require_confirmed()
        rules.require_text("warehouse", warehouse)
        line = self._require_line(sku)
        rules.require_quantity(quantity)
        if line.allocated_total + quantity > line.open:
            raise DomainError(
                "cannot_allocate_more_than_open",
                f"{sku}: only {line.open - line.allocated_total} more can be allocated",
                sku=sku,
                open=line.open,
                allocated=line.allocated_total,
                requested=quantity,
            )
        self.trigger_event(self.StockAllocated, sku=sku, quantity=quantity, warehouse=warehouse)

    class StockReleased(Aggregate.Event):
        sku: str
        quantity: int
        warehouse: str
        privacy = Privacy(public=("sku", "warehouse"))

        def evolve(self, order: Order) -> None:
            allocated = order.lines[self.sku].allocated
            allocated[self.warehouse] -= self.quantity
            if not allocated[self.warehouse]:
                del allocated[self.warehouse]

    def release_stock(self, *, sku: str, quantity: int, warehouse: str) -> None:
        """Give back reserved stock."""
        self._require_open()
        line = self._require_line(sku)
        rules.require_quantity(quantity)
        held = line.allocated.get(warehouse, 0)
        if quantity > held:
            raise DomainError(
                "cannot_release_more_than_allocated",
                f"{sku}: only {held} is allocated in {warehouse}",
                sku=sku,
                warehouse=warehouse,
                allocated=held,
                requested=quantity,
            )
        self.trigger_event(self.StockReleased, sku=sku, quantity=quantity, warehouse=warehouse)

    # -- purchasing ---------------------------------------------------------

    class PurchaseOrdered(Aggregate.Event):
        po_number: str
        supplier: str
        items: list[PurchaseItem]
        eta: date | None
        privacy = Privacy(public=("po_number", "supplier"))

        def evolve(self, order: Order) -> None:
            order.purchases[self.po_number] = PurchaseState(
                self.po_number, self.supplier, list(self.items), self.eta
            )

    def order_purchase(
        self,
        *,
        po_number: str,
        supplier: str,
        items: Sequence[PurchaseItem],
        eta: date | None = None,
    ) -> None:
        """Order parts from a supplier for this order."""
        self._require_confirmed()
        rules.require_text("po number", po_number)
        rules.require_text("supplier", supplier)
        if po_number in self.purchases:
            raise DomainError("duplicate_purchase_order", f"purchase order {po_number} exists")
        rules.require_purchase_items(items)
        rules.require_business_date("eta", eta)
        self.trigger_event(
            self.PurchaseOrdered, po_number=po_number, supplier=supplier, items=list(items), eta=eta
        )

    class PurchaseReceived(Aggregate.Event):
        po_number: str
        accepted: int
        rejected: int
        note: str
        privacy = Privacy(personal=("note",), public=("po_number",))

        def evolve(self, order: Order) -> None:
            purchase = order.purchases[self.po_number]
            purchase.accepted += self.accepted
            purchase.rejected += self.rejected
            if purchase.accepted + purchase.rejected >= purchase.quantity:
                purchase.status = "closed"

    def receive_purchase(
        self, *, po_number: str, accepted: int, rejected: int = 0, note: str = ""
    ) -> None:
        """Record inspected parts: accepted into stock or rejected. Parts ordered
        before a cancellation still arrive and are still inspected."""
        self._require_still_on_file()
        if self.status not in (Status.CONFIRMED, Status.CANCELLED, Status.SETTLED):
            raise DomainError(
                "order_not_confirmed",
                f"the order must be confirmed first, it is {self.status}",
                status=self.status,
            )
        purchase = self.purchases.get(po_number)
        if purchase is None:
            raise DomainError("unknown_purchase_order", f"no purchase order {po_number}")
        if purchase.status != "open":
            raise DomainError("purchase_order_not_open", f"purchase order {po_number} is closed")
        if accepted < 0 or rejected < 0 or accepted + rejected == 0:
            raise DomainError(
                "quantity_must_be_positive", "accepted and rejected must be ≥ 0, together > 0"
            )
        remaining = purchase.quantity - purchase.accepted - purchase.rejected
        if accepted + rejected > remaining:
            raise DomainError(
                "cannot_receive_more_than_ordered",
                f"only {remaining} is still expected on {po_number}",
                remaining=remaining,
            )
        self.trigger_event(
            self.PurchaseReceived,
            po_number=po_number,
            accepted=accepted,
            rejected=rejected,
            note=note,
        )

    # -- production ---------------------------------------------------------

    class ProductionProgressed(Aggregate.Event):
        stage: str
        percent: int
        privacy = Privacy(public=("stage",))

        def evolve(self, order: Order) -> None:
            order.production_stage = self.stage
            order.production_percent = self.percent

    def progress_production(self, *, stage: str, percent: int) -> None:
        """Report how far production has got; the percentage never goes down."""
        self._require_confirmed()
        rules.require_text("stage", stage)
        if self.production_completed:
            raise DomainError("production_already_completed", "production is already complete")
        if not 0 <= percent <= 100:
            raise DomainError("percent_out_of_range", "percent must be between 0 and 100")
        if percent < self.production_percent:
            raise DomainError(
                "production_percent_cannot_decrease",
                f"production is at {self.production_percent}%, {percent}% would go back",
                current=self.production_percent,
                requested=percent,
            )
        self.trigger_event(self.ProductionProgressed, stage=stage, percent=percent)

    class ProductionCompleted(Aggregate.Event):
        def evolve(self, order: Order) -> None:
            order.production_percent = 100
            order.production_completed = True

    def complete_production(self) -> None:
        """Production is finished; the goods can be packed and shipped."""
        self._require_confirmed()
        if self.production_completed:
            raise DomainError("production_already_completed", "production is already complete")
        self.trigger_event(self.ProductionCompleted)

    # -- quality ------------------------------------------------------------

    class QualityIssueRaised(Aggregate.Event):
        issue_id: str
        severity: str
        category: str
        description: str
        sku: str
        privacy = Privacy(
            personal=("description",),
            public=("issue_id", "severity", "category", "sku"),
        )

        def evolve(self, order: Order) -> None:
            order.quality_issues[self.issue_id] = QualityIssueState(
                self.issue_id,
                self.severity,
                self.category,
                self.description,
                self.sku,
                raised_at=self.timestamp,
            )

    def raise_quality_issue(
        self, *, issue_id: str, severity: str, category: str, description: str, sku: str = ""
    ) -> None:
        """Record a quality problem, graded minor, major or critical."""
        self._require_fulfilment_or_settled()
        rules.require_text("issue id", issue_id)
        if issue_id in self.quality_issues:
            raise DomainError("duplicate_quality_issue", f"quality issue {issue_id} exists")
        rules.require_choice("severity", severity, rules.SEVERITIES)
        rules.require_text("description", description)
        if sku:
            self._require_line(sku)
        self.trigger_event(
            self.QualityIssueRaised,
            issue_id=issue_id,
            severity=severity,
            category=category,
            description=description,
            sku=sku,
        )

    class QualityIssueResolved(Aggregate.Event):
        issue_id: str
        resolution: str
        amount: Decimal
        note: str
        privacy = Privacy(personal=("note",), public=("issue_id", "resolution"))

        def evolve(self, order: Order) -> None:
            issue = order.quality_issues[self.issue_id]
            issue.status = "resolved"
            issue.resolution = self.resolution
            issue.amount = self.amount
            issue.note = self.note
            issue.resolved_at = self.timestamp

    def resolve_quality_issue(
        self, *, issue_id: str, resolution: str, amount: Decimal = Decimal(0), note: str = ""
    ) -> None:
        """Close an open quality issue by return, exchange, repair or compensation."""
        self._require_still_on_file()
        issue = self.quality_issues.get(issue_id)
        if issue is None:
            raise DomainError("unknown_quality_issue", f"no quality issue {issue_id}")
        if issue.status != "open":
            raise DomainError("quality_issue_not_open", f"quality issue {issue_id} is resolved")
        rules.require_choice("resolution", resolution, rules.RESOLUTIONS)
        rules.require_amount_not_negative("amount", amount)
        rules.require_minor_units(amount, self.currency)
        self.trigger_event(
            self.QualityIssueResolved,
            issue_id=issue_id,
            resolution=resolution,
            amount=amount,
            note=note,
        )
