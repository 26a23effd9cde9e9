"""The Order aggregate: every action of the follow-up process is an event.

Commands (imperative methods) check their guards first and raise
``DomainError`` before anything is triggered, so a refused command records
nothing. Events (nested, past tense) only evolve state in ``evolve``; that
code runs again on every replay, so it never reads clocks or random values
and never refuses. Stage and progress are derived from the counters the
events maintain, never stored as ratios.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.context import current_stamp
from ledger.aggregates.errors import DomainError
from ledger.aggregates.state import (
    ComplaintState,
    CreditNoteState,
    DocumentState,
    InvoiceState,
    LineState,
    PackingState,
    PaymentState,
    PromiseState,
    PurchaseState,
    QualityIssueState,
    ShipmentState,
)
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
)

STAGES = (
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
)
SIDE_STAGES = ("on_hold", "cancelled", "rejected", "split", "merged")
CLOSED = ("cancelled", "split", "merged", "archived")


class Order(Aggregate):
    """A sales order followed from receipt to archive."""

    if TYPE_CHECKING:  # state set by the events; declared here for the type checker only
        number: str
        channel: str
        customer: Customer
        currency: str
        delivery: Delivery
        requested_date: date | None
        lines: dict[str, LineState]
        split_from: str
        merged_from: list[str]
        status: str
        on_hold: bool
        hold_reason: str
        checks: dict[str, bool]
        problems: list[str]
        promises: list[PromiseState]
        payment_terms: PaymentTerms | None
        invoice_info: dict[str, str]
        special_requirements: str
        contract_ref: str
        shipments: dict[str, ShipmentState]
        purchases: dict[str, PurchaseState]
        production_stage: str
        production_percent: int
        production_completed: bool
        quality_issues: dict[str, QualityIssueState]
        complaints: dict[str, ComplaintState]
        invoices: dict[str, InvoiceState]
        credit_notes: dict[str, CreditNoteState]
        payments: dict[str, PaymentState]
        split_into: list[str]
        merged_into: str
        cancel_reason: str
        archive_ref: str
        stage_reached: dict[str, datetime]

    class Event(Aggregate.Event):
        """Base of the order's events: each carries who/why metadata."""

        meta: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            order: Order = aggregate
            self.evolve(order)
            order._note_stage(self.timestamp)

        def evolve(self, order: Order) -> None:
            """Change the order's state; must not raise and must not read clocks."""

    # -- receiving ---------------------------------------------------------

    class OrderReceived(Event, Aggregate.Created):
        number: str
        channel: str
        customer: Customer
        lines: list[Line]
        currency: str
        delivery: Delivery
        requested_date: date | None
        split_from: str
        merged_from: list[str]

        def evolve(self, order: Order) -> None:
            order.number = self.number
            order.channel = self.channel
            order.customer = self.customer
            order.currency = self.currency
            order.delivery = self.delivery
            order.requested_date = self.requested_date
            order.lines = {line.sku: _line_state(line) for line in self.lines}
            order.split_from = self.split_from
            order.merged_from = list(self.merged_from)
            order.status = "received"
            order.on_hold = False
            order.hold_reason = ""
            order.checks = {}
            order.problems = []
            order.promises = []
            order.payment_terms = None
            order.invoice_info = {}
            order.special_requirements = ""
            order.contract_ref = ""
            order.shipments = {}
            order.purchases = {}
            order.production_stage = ""
            order.production_percent = 0
            order.production_completed = False
            order.quality_issues = {}
            order.complaints = {}
            order.invoices = {}
            order.credit_notes = {}
            order.payments = {}
            order.split_into = []
            order.merged_into = ""
            order.cancel_reason = ""
            order.archive_ref = ""
            order.stage_reached = {}

    def __init__(self) -> None:
        """State is set by OrderReceived.evolve, on creation and on replay."""

    @classmethod
    def receive(
        cls,
        *,
        order_id: UUID,
        number: str,
        channel: str,
        customer: Customer,
        lines: Sequence[Line],
        currency: str = "CNY",
        delivery: Delivery,
        requested_date: date | None = None,
        split_from: str = "",
        merged_from: Sequence[str] = (),
    ) -> Order:
        """Record a new order as it arrived by phone, email, platform or on site."""
        cls.check_receipt(channel, customer, lines, currency, delivery)
        stamp = current_stamp()
        return cls._create(
            cls.OrderReceived,
            id=order_id,
            timestamp=stamp.at,
            meta=dict(stamp.meta),
            number=number,
            channel=channel,
            customer=customer,
            lines=list(lines),
            currency=currency,
            delivery=delivery,
            requested_date=requested_date,
            split_from=split_from,
            merged_from=list(merged_from),
        )

    @staticmethod
    def check_receipt(
        channel: str, customer: Customer, lines: Sequence[Line], currency: str, delivery: Delivery
    ) -> None:
        """Refuse an incomplete order before a number is spent on it."""
        rules.require_choice("channel", channel, rules.CHANNELS)
        rules.require_text("customer name", customer.name)
        rules.require_currency(currency)
        rules.require_delivery(delivery)
        rules.require_lines(lines)

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        stamp = current_stamp()
        kwargs.setdefault("timestamp", stamp.at)
        kwargs.setdefault("meta", dict(stamp.meta))
        super().trigger_event(event_class, **kwargs)

    # -- verification, amendment, confirmation ----------------------------

    class OrderVerified(Event):
        checks: dict[str, bool]

        def evolve(self, order: Order) -> None:
            order.checks = dict(self.checks)
            order.problems = []
            order.status = "verified"

    class VerificationFailed(Event):
        checks: dict[str, bool]
        problems: list[str]

        def evolve(self, order: Order) -> None:
            order.checks = dict(self.checks)
            order.problems = list(self.problems)
            order.status = "rejected"

    def verify(self, checks: dict[str, bool], problems: Sequence[str] = ()) -> None:
        """Record the check of customer, product and delivery details.

        All checks passing with no problem verifies the order; anything else
        rejects it until it is amended and verified again.
        """
        self._require_open()
        if self.status not in ("received", "rejected"):
            raise DomainError(
                "order_not_awaiting_verification",
                f"only a received or rejected order can be verified, this one is {self.status}",
                status=self.status,
            )
        rules.require_checks(checks)
        if all(checks.values()) and not problems:
            self.trigger_event(self.OrderVerified, checks=dict(checks))
        else:
            failed = [f"{area} check failed" for area, ok in checks.items() if not ok]
            self.trigger_event(
                self.VerificationFailed,
                checks=dict(checks),
                problems=list(problems) or failed,
            )

    class OrderAmended(Event):
        lines: list[Line] | None
        delivery: Delivery | None
        requested_date: date | None
        reason: str

        def evolve(self, order: Order) -> None:
            if self.lines is not None:
                order.lines = {line.sku: _line_state(line) for line in self.lines}
            if self.delivery is not None:
                order.delivery = self.delivery
            if self.requested_date is not None:
                order.requested_date = self.requested_date

    def amend(
        self,
        *,
        reason: str,
        lines: Sequence[Line] | None = None,
        delivery: Delivery | None = None,
        requested_date: date | None = None,
    ) -> None:
        """Change lines, delivery or the requested date before production starts."""
        self._require_open()
        self._require_not_settled()
        rules.require_text("reason", reason)
        if lines is None and delivery is None and requested_date is None:
            raise DomainError("nothing_to_amend", "an amendment must change something")
        if self._production_started():
            raise DomainError(
                "cannot_amend_after_production_started",
                "the order can only be amended before production starts",
                stage=self.stage,
            )
        if lines is not None:
            rules.require_lines(lines)
            if self.shipments or any(line.allocated_total for line in self.lines.values()):
                raise DomainError(
                    "cannot_amend_lines_with_shipments_or_allocations",
                    "release stock and plan shipments again after changing lines",
                )
            new_total = sum((line.amount for line in lines), Decimal(0))
            if new_total < self.net_invoiced:
                raise DomainError(
                    "cannot_amend_below_invoiced",
                    "the new total would be less than what is already invoiced",
                    new_total=str(new_total),
                    net_invoiced=str(self.net_invoiced),
                )
        if delivery is not None:
            rules.require_delivery(delivery)
        self.trigger_event(
            self.OrderAmended,
            lines=list(lines) if lines is not None else None,
            delivery=delivery,
            requested_date=requested_date,
            reason=reason,
        )

    class OrderConfirmed(Event):
        promised_date: date
        payment_terms: PaymentTerms
        invoice_info: dict[str, str]
        special_requirements: str
        contract_ref: str

        def evolve(self, order: Order) -> None:
            order.status = "confirmed"
            order.payment_terms = self.payment_terms
            order.invoice_info = dict(self.invoice_info)
            order.special_requirements = self.special_requirements
            order.contract_ref = self.contract_ref
            order.promises.append(PromiseState(self.promised_date, "confirmed", self.timestamp))

    def confirm(
        self,
        *,
        promised_date: date,
        payment_terms: PaymentTerms,
        invoice_info: dict[str, str] | None = None,
        special_requirements: str = "",
        contract_ref: str = "",
    ) -> None:
        """Record what was agreed with the customer: date, payment, invoicing."""
        self._require_open()
        if self.status == "confirmed" or self.status == "settled":
            raise DomainError("order_already_confirmed", "the order is already confirmed")
        if self.status != "verified":
            raise DomainError(
                "order_not_verified",
                f"only a verified order can be confirmed, this one is {self.status}",
                status=self.status,
            )
        rules.require_payment_terms(payment_terms)
        self.trigger_event(
            self.OrderConfirmed,
            promised_date=promised_date,
            payment_terms=payment_terms,
            invoice_info=dict(invoice_info or {}),
            special_requirements=special_requirements,
            contract_ref=contract_ref,
        )

    class DeliveryDatePromised(Event):
        promised_date: date
        reason: str

        def evolve(self, order: Order) -> None:
            order.promises.append(PromiseState(self.promised_date, self.reason, self.timestamp))

    def promise_date(self, promised_date: date, reason: str) -> None:
        """Promise a new delivery date; earlier promises stay on record."""
        self._require_confirmed()
        rules.require_text("reason", reason)
        self.trigger_event(self.DeliveryDatePromised, promised_date=promised_date, reason=reason)

    # -- split and merge --------------------------------------------------

    class OrderSplit(Event):
        children: list[dict[str, Any]]  # {"order_id", "number", "lines": [SkuQty]}

        def evolve(self, order: Order) -> None:
            order.status = "split"
            order.split_into = [str(child["order_id"]) for child in self.children]

    def split(self, parts: Sequence[tuple[UUID, str, Sequence[SkuQty]]]) -> list[Order]:
        """Close this order into children whose lines add up exactly to its open lines.

        ``parts`` gives each child's id, number and lines. Returns the
        children; save them together with this order.
        """
        self._require_open()
        self._require_not_settled()
        self._require_not_on_hold("split")
        self._require_untouched_by_fulfilment("split")
        if len(parts) < 2:
            raise DomainError("split_needs_two_parts", "a split needs at least two parts")
        sums: dict[str, int] = {}
        for _, _, part in parts:
            if not part:
                raise DomainError("split_part_empty", "every part of a split needs a line")
            rules.require_sku_quantities(part, self.lines)
            for item in part:
                sums[item.sku] = sums.get(item.sku, 0) + item.quantity
        due = {sku: line.due for sku, line in self.lines.items() if line.due > 0}
        if sums != due:
            raise DomainError(
                "split_must_conserve_lines",
                "the parts must add up exactly to the order's open lines",
                open=due,
                parts=sums,
            )
        self.trigger_event(
            self.OrderSplit,
            children=[
                {"order_id": str(oid), "number": number, "lines": list(part)}
                for oid, number, part in parts
            ],
        )
        return [
            Order.receive(
                order_id=oid,
                number=number,
                channel=self.channel,
                customer=self.customer,
                lines=[self._line_with_quantity(item) for item in part],
                currency=self.currency,
                delivery=self.delivery,
                requested_date=self.requested_date,
                split_from=str(self.id),
            )
            for oid, number, part in parts
        ]

    class OrderMerged(Event):
        into: str
        into_number: str

        def evolve(self, order: Order) -> None:
            order.status = "merged"
            order.merged_into = self.into

    @staticmethod
    def check_merge(sources: Sequence[Order]) -> list[Line]:
        """Refuse a merge that may not happen; else the merged order's lines."""
        if len({source.id for source in sources}) != len(sources) or len(sources) < 2:
            raise DomainError("merge_needs_two_orders", "a merge needs two or more distinct orders")
        first = sources[0]
        for source in sources:
            source._require_open()
            source._require_not_settled()
            source._require_not_on_hold("merged")
            source._require_untouched_by_fulfilment("merged")
            if source.customer.name != first.customer.name or source.currency != first.currency:
                raise DomainError(
                    "cannot_merge_different_customers",
                    "only orders of the same customer and currency can be merged",
                    order=source.number,
                )
        return _combine_lines(sources)

    @classmethod
    def merge(cls, sources: Sequence[Order], *, order_id: UUID, number: str) -> Order:
        """Close orders of one customer into a new one holding all their open lines."""
        lines = cls.check_merge(sources)
        for source in sources:
            source.trigger_event(cls.OrderMerged, into=str(order_id), into_number=number)
        first = sources[0]
        dates = [s.requested_date for s in sources if s.requested_date is not None]
        return cls.receive(
            order_id=order_id,
            number=number,
            channel=first.channel,
            customer=first.customer,
            lines=lines,
            currency=first.currency,
            delivery=first.delivery,
            requested_date=min(dates) if dates else None,
            merged_from=[str(source.id) for source in sources],
        )

    # -- shipment planning ------------------------------------------------

    class ShipmentScheduled(Event):
        shipment_id: str
        planned_date: date
        lines: list[SkuQty]
        carrier: str
        mode: str
        estimated_cost: Decimal
        export: bool

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

    class ShipmentRescheduled(Event):
        shipment_id: str
        planned_date: date
        carrier: str
        reason: str

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
        self.trigger_event(
            self.ShipmentRescheduled,
            shipment_id=shipment_id,
            planned_date=planned_date,
            carrier=carrier,
            reason=reason,
        )

    # -- stock --------------------------------------------------------------

    class StockAllocated(Event):
        sku: str
        quantity: int
        warehouse: str

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

    class StockReleased(Event):
        sku: str
        quantity: int
        warehouse: str

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

    class PurchaseOrdered(Event):
        po_number: str
        supplier: str
        items: list[PurchaseItem]
        eta: date | None

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
        self.trigger_event(
            self.PurchaseOrdered, po_number=po_number, supplier=supplier, items=list(items), eta=eta
        )

    class PurchaseReceived(Event):
        po_number: str
        accepted: int
        rejected: int
        note: str

        def evolve(self, order: Order) -> None:
            purchase = order.purchases[self.po_number]
            purchase.accepted += self.accepted
            purchase.rejected += self.rejected
            if purchase.accepted + purchase.rejected >= purchase.quantity:
                purchase.status = "closed"

    def receive_purchase(
        self, *, po_number: str, accepted: int, rejected: int = 0, note: str = ""
    ) -> None:
        """Record inspected parts: accepted into stock or rejected."""
        self._require_confirmed()
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

    class ProductionProgressed(Event):
        stage: str
        percent: int

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

    class ProductionCompleted(Event):
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

    class QualityIssueRaised(Event):
        issue_id: str
        severity: str
        category: str
        description: str
        sku: str

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

    class QualityIssueResolved(Event):
        issue_id: str
        resolution: str
        amount: Decimal
        note: str

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
        self._require_not_closed_except_settled()
        issue = self.quality_issues.get(issue_id)
        if issue is None:
            raise DomainError("unknown_quality_issue", f"no quality issue {issue_id}")
        if issue.status != "open":
            raise DomainError("quality_issue_not_open", f"quality issue {issue_id} is resolved")
        rules.require_choice("resolution", resolution, rules.RESOLUTIONS)
        rules.require_amount_not_negative("amount", amount)
        self.trigger_event(
            self.QualityIssueResolved,
            issue_id=issue_id,
            resolution=resolution,
            amount=amount,
            note=note,
        )

    # -- packing and documents ---------------------------------------------

    class OrderPacked(Event):
        shipment_id: str
        packages: int
        materials: str
        labels: list[str]

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

    class DocumentIssued(Event):
        shipment_id: str
        kind: str
        number: str
        status: str

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

    class DocumentStatusChanged(Event):
        shipment_id: str
        kind: str
        status: str
        discrepancy: str

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

    class ShipmentDispatched(Event):
        shipment_id: str
        lines: list[SkuQty]
        carrier: str
        tracking_number: str

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
                _consume_allocation(line, item.quantity)

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

    class LineShortClosed(Event):
        sku: str
        quantity: int
        reason: str

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

    class TransitUpdated(Event):
        shipment_id: str
        status: str
        location: str
        note: str

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

    class ShipmentDelivered(Event):
        shipment_id: str
        received_by: str

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

    # -- invoicing, payment, settlement -----------------------------------------

    class OrderInvoiced(Event):
        invoice_number: str
        amount: Decimal
        issued_on: date
        lines: list[SkuQty]

        def evolve(self, order: Order) -> None:
            lines = {item.sku: item.quantity for item in self.lines}
            order.invoices[self.invoice_number] = InvoiceState(
                self.invoice_number, self.amount, self.issued_on, lines
            )
            for sku, quantity in lines.items():
                order.lines[sku].invoiced += quantity

    def invoice(
        self,
        *,
        invoice_number: str,
        amount: Decimal,
        issued_on: date,
        lines: Sequence[SkuQty] = (),
    ) -> None:
        """Issue an invoice: never beyond the order total, and before delivery only
        up to the agreed prepayment share (plus what has been delivered)."""
        self._require_confirmed()
        rules.require_text("invoice number", invoice_number)
        if invoice_number in self.invoices:
            raise DomainError("duplicate_invoice", f"invoice {invoice_number} already exists")
        rules.require_money(amount)
        if lines:
            rules.require_sku_quantities(lines, self.lines)
            for item in lines:
                line = self.lines[item.sku]
                if line.invoiced + item.quantity > line.quantity:
                    raise DomainError(
                        "cannot_invoice_more_than_ordered",
                        f"{item.sku}: beyond the ordered quantity",
                    )
        cap = self.invoice_cap()
        if self.net_invoiced + amount > cap:
            raise DomainError(
                "cannot_invoice_more_than_allowed",
                f"at most {cap - self.net_invoiced} more can be invoiced now",
                allowed=str(cap),
                invoiced=str(self.net_invoiced),
                requested=str(amount),
            )
        self.trigger_event(
            self.OrderInvoiced,
            invoice_number=invoice_number,
            amount=amount,
            issued_on=issued_on,
            lines=list(lines),
        )

    class CreditNoteIssued(Event):
        credit_note_number: str
        amount: Decimal
        reason: str
        invoice_number: str

        def evolve(self, order: Order) -> None:
            order.credit_notes[self.credit_note_number] = CreditNoteState(
                self.credit_note_number, self.amount, self.reason, self.invoice_number
            )

    def issue_credit_note(
        self, *, credit_note_number: str, amount: Decimal, reason: str, invoice_number: str = ""
    ) -> None:
        """Credit part of what was invoiced (returns, compensation)."""
        self._require_confirmed()
        rules.require_text("credit note number", credit_note_number)
        rules.require_text("reason", reason)
        if credit_note_number in self.credit_notes:
            raise DomainError("duplicate_credit_note", f"credit note {credit_note_number} exists")
        if invoice_number and invoice_number not in self.invoices:
            raise DomainError("unknown_invoice", f"no invoice {invoice_number}")
        rules.require_money(amount)
        creditable = self.net_invoiced - self.paid_amount
        if amount > creditable:
            raise DomainError(
                "cannot_credit_more_than_unpaid_invoiced",
                f"at most {creditable} can be credited: invoiced, not credited and not paid",
                creditable=str(creditable),
                requested=str(amount),
            )
        self.trigger_event(
            self.CreditNoteIssued,
            credit_note_number=credit_note_number,
            amount=amount,
            reason=reason,
            invoice_number=invoice_number,
        )

    class PaymentReceived(Event):
        reference: str
        amount: Decimal
        received_on: date

        def evolve(self, order: Order) -> None:
            order.payments[self.reference] = PaymentState(
                self.reference, self.amount, self.received_on
            )

    def receive_payment(self, *, reference: str, amount: Decimal, received_on: date) -> None:
        """Record a payment; never more than invoiced and unpaid."""
        self._require_confirmed()
        rules.require_text("reference", reference)
        if reference in self.payments:
            raise DomainError("duplicate_payment", f"payment {reference} is already recorded")
        rules.require_money(amount)
        if amount > self.outstanding:
            raise DomainError(
                "cannot_pay_more_than_outstanding",
                f"only {self.outstanding} is invoiced and unpaid",
                outstanding=str(self.outstanding),
                requested=str(amount),
            )
        self.trigger_event(
            self.PaymentReceived, reference=reference, amount=amount, received_on=received_on
        )

    class OrderSettled(Event):
        def evolve(self, order: Order) -> None:
            order.status = "settled"

    def settle(self) -> None:
        """Close the account: all shipped or written off, shipped goods invoiced,
        nothing in transit, and paid in full."""
        self._require_confirmed()
        open_lines = [sku for sku, line in self.lines.items() if line.open > 0]
        if open_lines:
            raise DomainError(
                "cannot_settle_with_open_lines",
                "ship or short-close every line first",
                open=open_lines,
            )
        in_transit = [s.shipment_id for s in self.shipments.values() if s.status == "dispatched"]
        if in_transit:
            raise DomainError(
                "cannot_settle_with_goods_in_transit",
                "every dispatched shipment must be delivered first",
                shipments=in_transit,
            )
        if self.invoiced_amount < self.shipped_value:
            raise DomainError(
                "cannot_settle_uninvoiced_shipments",
                "everything shipped must be invoiced",
                shipped_value=str(self.shipped_value),
                invoiced=str(self.invoiced_amount),
            )
        if self.outstanding != 0:
            raise DomainError(
                "cannot_settle_unpaid_balance",
                f"{self.outstanding} is still unpaid",
                outstanding=str(self.outstanding),
            )
        self.trigger_event(self.OrderSettled)

    # -- complaints -------------------------------------------------------

    class ComplaintFiled(Event):
        complaint_id: str
        channel: str
        category: str
        description: str
        contact: str

        def evolve(self, order: Order) -> None:
            order.complaints[self.complaint_id] = ComplaintState(
                self.complaint_id,
                self.channel,
                self.category,
                self.description,
                self.contact,
                filed_at=self.timestamp,
            )

    def file_complaint(
        self, *, complaint_id: str, channel: str, category: str, description: str, contact: str = ""
    ) -> None:
        """Record a customer's complaint: what, when, how to reach them."""
        self._require_not_closed_except_settled()
        rules.require_text("complaint id", complaint_id)
        rules.require_text("description", description)
        if complaint_id in self.complaints:
            raise DomainError("duplicate_complaint", f"complaint {complaint_id} exists")
        self.trigger_event(
            self.ComplaintFiled,
            complaint_id=complaint_id,
            channel=channel,
            category=category,
            description=description,
            contact=contact,
        )

    class ComplaintResolved(Event):
        complaint_id: str
        resolution: str
        customer_feedback: str

        def evolve(self, order: Order) -> None:
            complaint = order.complaints[self.complaint_id]
            complaint.status = "resolved"
            complaint.resolution = self.resolution
            complaint.customer_feedback = self.customer_feedback
            complaint.resolved_at = self.timestamp

    def resolve_complaint(
        self, *, complaint_id: str, resolution: str, customer_feedback: str = ""
    ) -> None:
        """Close an open complaint with what was done and what the customer said."""
        self._require_not_closed_except_settled()
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise DomainError("unknown_complaint", f"no complaint {complaint_id}")
        if complaint.status != "open":
            raise DomainError("complaint_not_open", f"complaint {complaint_id} is resolved")
        rules.require_text("resolution", resolution)
        self.trigger_event(
            self.ComplaintResolved,
            complaint_id=complaint_id,
            resolution=resolution,
            customer_feedback=customer_feedback,
        )

    # -- hold, release, cancel, archive -------------------------------------

    class OrderPutOnHold(Event):
        reason: str

        def evolve(self, order: Order) -> None:
            order.on_hold = True
            order.hold_reason = self.reason

    def hold(self, reason: str) -> None:
        """Stop the order moving (credit check, customer request...)."""
        self._require_open()
        self._require_not_settled()
        rules.require_text("reason", reason)
        if self.on_hold:
            raise DomainError("order_already_on_hold", "the order is already on hold")
        self.trigger_event(self.OrderPutOnHold, reason=reason)

    class OrderReleased(Event):
        reason: str

        def evolve(self, order: Order) -> None:
            order.on_hold = False
            order.hold_reason = ""

    def release(self, reason: str) -> None:
        """Let an order on hold move again."""
        self._require_open()
        rules.require_text("reason", reason)
        if not self.on_hold:
            raise DomainError("order_not_on_hold", "the order is not on hold")
        self.trigger_event(self.OrderReleased, reason=reason)

    class OrderCancelled(Event):
        reason: str

        def evolve(self, order: Order) -> None:
            order.status = "cancelled"
            order.cancel_reason = self.reason
            order.on_hold = False
            for line in order.lines.values():
                line.allocated = {}

    def cancel(self, reason: str) -> None:
        """Cancel the order; not once anything has been dispatched or invoiced."""
        self._require_open()
        self._require_not_settled()
        rules.require_text("reason", reason)
        if any(s.is_dispatched for s in self.shipments.values()):
            raise DomainError("cannot_cancel_after_dispatch", "goods have already been dispatched")
        if self.net_invoiced > 0 or self.paid_amount > 0:
            raise DomainError(
                "cannot_cancel_invoiced_order", "credit the invoices before cancelling"
            )
        self.trigger_event(self.OrderCancelled, reason=reason)

    class OrderArchived(Event):
        archive_ref: str

        def evolve(self, order: Order) -> None:
            order.status = "archived"
            order.archive_ref = self.archive_ref

    def archive(self, archive_ref: str) -> None:
        """File a settled or cancelled order with nothing left open."""
        if self.status not in ("settled", "cancelled"):
            raise DomainError(
                "cannot_archive_unsettled_order",
                f"only settled or cancelled orders can be archived, this one is {self.stage}",
                stage=self.stage,
            )
        rules.require_text("archive ref", archive_ref)
        open_items = self.open_items()
        if open_items:
            raise DomainError(
                "cannot_archive_with_open_items",
                "resolve open complaints, quality issues and purchases first",
                open=open_items,
            )
        self.trigger_event(self.OrderArchived, archive_ref=archive_ref)

    # -- derived facts ---------------------------------------------------------

    @property
    def stage(self) -> str:
        """The board column: the lifecycle stage, or a side state."""
        if self.status in ("cancelled", "rejected", "split", "merged", "archived", "settled"):
            return self.status
        if self.on_hold:
            return "on_hold"
        return self.progress_stage

    @property
    def progress_stage(self) -> str:
        """How far the goods and the money have got, ignoring a hold."""
        if self.status in ("received", "verified", "rejected"):
            return self.status
        if self.status in ("settled", "archived"):
            return self.status
        due = sum(line.due for line in self.lines.values())
        delivered = sum(line.delivered for line in self.lines.values())
        if due > 0 and delivered >= due:
            return "invoiced" if self.net_invoiced > 0 else "delivered"
        if any(line.shipped for line in self.lines.values()):
            return "shipped"
        allocated = sum(line.allocated_total for line in self.lines.values())
        packed = any(s.status == "packed" for s in self.shipments.values())
        if self.production_completed or packed or (due > 0 and allocated >= due):
            return "ready_to_ship"
        if self._production_started():
            return "in_production"
        return "confirmed"

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines.values()), Decimal(0))

    @property
    def invoiced_amount(self) -> Decimal:
        return sum((i.amount for i in self.invoices.values()), Decimal(0))

    @property
    def credited_amount(self) -> Decimal:
        return sum((c.amount for c in self.credit_notes.values()), Decimal(0))

    @property
    def net_invoiced(self) -> Decimal:
        return self.invoiced_amount - self.credited_amount

    @property
    def paid_amount(self) -> Decimal:
        return sum((p.amount for p in self.payments.values()), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return self.net_invoiced - self.paid_amount

    @property
    def shipped_value(self) -> Decimal:
        return sum((line.unit_price * line.shipped for line in self.lines.values()), Decimal(0))

    @property
    def delivered_value(self) -> Decimal:
        return sum((line.unit_price * line.delivered for line in self.lines.values()), Decimal(0))

    @property
    def original_promise(self) -> date | None:
        return self.promises[0].promised_date if self.promises else None

    @property
    def latest_promise(self) -> date | None:
        return self.promises[-1].promised_date if self.promises else None

    def invoice_cap(self) -> Decimal:
        """The most that may be invoiced (net) now: the prepayment share of the
        total plus the value delivered, never beyond the total."""
        terms = self.payment_terms
        share = terms.prepayment_percent if terms is not None else Decimal(0)
        prepayment = self.total * share / 100
        return min(self.total, prepayment + self.delivered_value)

    def planned_quantities(self) -> dict[str, int]:
        """Per SKU, what the shipments plan (or actually took, once dispatched)."""
        planned: dict[str, int] = {}
        for shipment in self.shipments.values():
            for sku, quantity in shipment.lines.items():
                planned[sku] = planned.get(sku, 0) + quantity
        return planned

    def open_items(self) -> list[str]:
        items = [
            f"complaint {c.complaint_id}" for c in self.complaints.values() if c.status == "open"
        ]
        items += [
            f"quality issue {q.issue_id}"
            for q in self.quality_issues.values()
            if q.status == "open"
        ]
        if self.status != "settled":
            items += [
                f"purchase {p.po_number}" for p in self.purchases.values() if p.status == "open"
            ]
        items += [
            f"shipment {s.shipment_id}" for s in self.shipments.values() if s.status == "dispatched"
        ]
        return items

    def _note_stage(self, at: datetime) -> None:
        stage = self.stage
        if stage not in self.stage_reached:
            self.stage_reached[stage] = at

    # -- guards ---------------------------------------------------------------

    def _require_open(self) -> None:
        if self.status in CLOSED:
            raise DomainError(
                "order_closed",
                f"the order is {self.status}; nothing more can happen to it",
                status=self.status,
            )

    def _require_not_settled(self) -> None:
        if self.status == "settled":
            raise DomainError("order_settled", "the order is settled")

    def _require_confirmed(self) -> None:
        self._require_open()
        self._require_not_settled()
        if self.status != "confirmed":
            raise DomainError(
                "order_not_confirmed",
                f"the order must be confirmed first, it is {self.status}",
                status=self.status,
            )

    def _require_fulfilment_or_settled(self) -> None:
        self._require_open()
        if self.status not in ("confirmed", "settled"):
            raise DomainError(
                "order_not_confirmed",
                f"the order must be confirmed first, it is {self.status}",
                status=self.status,
            )

    def _require_not_closed_except_settled(self) -> None:
        self._require_open()

    def _require_not_on_hold(self, action: str) -> None:
        if self.on_hold:
            raise DomainError(
                "order_on_hold", f"an order on hold cannot be {action}", reason=self.hold_reason
            )

    def _require_untouched_by_fulfilment(self, action: str) -> None:
        if any(line.shipped for line in self.lines.values()):
            raise DomainError(f"cannot_{_verb(action)}_shipped_order", "goods have been shipped")
        if self.shipments or any(line.allocated_total for line in self.lines.values()):
            raise DomainError(
                f"cannot_{_verb(action)}_with_shipments_or_allocations",
                "release stock and planned shipments first",
            )
        if self.invoices or self.payments:
            raise DomainError(f"cannot_{_verb(action)}_invoiced_order", "the order is invoiced")

    def _production_started(self) -> bool:
        return bool(
            self.production_percent
            or self.production_stage
            or self.production_completed
            or self.purchases
        )

    def _require_line(self, sku: str) -> LineState:
        line = self.lines.get(sku)
        if line is None:
            raise DomainError("unknown_sku", f"the order has no line {sku}", sku=sku)
        return line

    def _require_shipment(self, shipment_id: str) -> ShipmentState:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise DomainError(
                "unknown_shipment", f"no shipment {shipment_id}", shipment_id=shipment_id
            )
        return shipment

    def _require_shipment_not_dispatched(self, shipment_id: str) -> ShipmentState:
        shipment = self._require_shipment(shipment_id)
        if shipment.is_dispatched:
            raise DomainError(
                "shipment_already_dispatched", f"shipment {shipment_id} has already left"
            )
        return shipment

    def _require_in_transit(self, shipment_id: str) -> ShipmentState:
        shipment = self._require_shipment(shipment_id)
        if shipment.status != "dispatched":
            raise DomainError(
                "shipment_not_in_transit",
                f"shipment {shipment_id} is {shipment.status}, not in transit",
                status=shipment.status,
            )
        return shipment

    def _require_can_ship(self, shipment: ShipmentState, item: SkuQty) -> None:
        line = self.lines[item.sku]
        planned = shipment.lines.get(item.sku, 0)
        if item.quantity > planned:
            raise DomainError(
                "cannot_ship_more_than_planned",
                f"{item.sku}: shipment {shipment.shipment_id} plans {planned}",
                sku=item.sku,
                planned=planned,
                requested=item.quantity,
            )
        if line.shipped + item.quantity > line.due:
            raise DomainError(
                "cannot_ship_more_than_ordered",
                f"{item.sku}: {line.shipped} of {line.due} already shipped",
                sku=item.sku,
                ordered=line.due,
                shipped=line.shipped,
                requested=item.quantity,
            )

    def _line_with_quantity(self, item: SkuQty) -> Line:
        line = self.lines[item.sku]
        return Line(line.sku, line.name, item.quantity, line.unit_price, line.model, line.spec)


def _line_state(line: Line) -> LineState:
    return LineState(line.sku, line.name, line.model, line.spec, line.quantity, line.unit_price)


def _consume_allocation(line: LineState, quantity: int) -> None:
    """Shipping uses up reserved stock, warehouse by warehouse in name order."""
    for warehouse in sorted(line.allocated):
        used = min(quantity, line.allocated[warehouse])
        line.allocated[warehouse] -= used
        quantity -= used
        if not line.allocated[warehouse]:
            del line.allocated[warehouse]
        if not quantity:
            break


def _verb(action: str) -> str:
    return {"split": "split", "merged": "merge"}.get(action, action)


def _combine_lines(sources: Iterable[Order]) -> list[Line]:
    combined: dict[str, Line] = {}
    for source in sources:
        for line in source.lines.values():
            if line.due <= 0:
                continue
            seen = combined.get(line.sku)
            if seen is None:
                combined[line.sku] = Line(
                    line.sku, line.name, line.due, line.unit_price, line.model, line.spec
                )
            elif seen.unit_price != line.unit_price:
                raise DomainError(
                    "cannot_merge_different_prices",
                    f"{line.sku} has different unit prices in the orders",
                    sku=line.sku,
                )
            else:
                combined[line.sku] = Line(
                    seen.sku,
                    seen.name,
                    seen.quantity + line.due,
                    seen.unit_price,
                    seen.model,
                    seen.spec,
                )
    if not combined:
        raise DomainError("merge_has_no_open_lines", "the orders have nothing left to ship")
    return list(combined.values())
