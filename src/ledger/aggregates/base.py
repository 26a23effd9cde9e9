"""What every part of the Order aggregate shares: its state, derived facts and guards.

Commands (imperative methods) check their guards first and raise
``DomainError`` before anything is triggered, so a refused command records
nothing. Events (nested, past tense) only evolve state in ``evolve``; that
code runs again on every replay, so it never reads clocks or random values
and never refuses. Stage and progress are derived from the counters the
events maintain, never stored as ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
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
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    SkuQty,
    line_amount,
    round_money,
)

if TYPE_CHECKING:
    from ledger.aggregates.order import Order

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


class OrderEvent(Aggregate.Event):
    """Base of the order's events: each carries who/why metadata.

    The library re-bases every event of the command mixins on this class
    (as ``Order.<EventName>``), so each event's own ``evolve`` changes the
    state; it must not raise and must not read clocks.
    """

    meta: dict[str, Any]
    # The metadata's reason (a body's ``reason`` or ``X-Reason``) is free text;
    # the actor (a token's name) and the ids are not the customer's.
    privacy = Privacy(personal=("meta.reason",), public=("meta",))

    if TYPE_CHECKING:

        def evolve(self, order: Order) -> None: ...

    def apply(self, aggregate: Any) -> None:
        order: Order = aggregate
        self.evolve(order)
        order._note_stage(self.timestamp)


class OrderBase:
    """The order's state as the events leave it, what follows from it, and the
    guards every command shares."""

    # Every attribute of the state (a snapshot stores them all); the values
    # and state classes held declare their own fields.
    privacy = Privacy(
        personal=("hold_reason", "problems", "invoice_info", "special_requirements",
                  "cancel_reason"),
        public=(
            "number", "channel", "customer", "currency", "delivery", "requested_date", "lines",
            "split_from", "merged_from", "status", "on_hold", "checks", "promises",
            "payment_terms", "contract_ref", "shipments", "purchases", "production_stage",
            "production_percent", "production_completed", "quality_issues", "complaints",
            "invoices", "credit_notes", "payments", "split_into", "merged_into", "archive_ref",
            "stage_reached",
        ),
    )  # fmt: skip

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
        id: UUID
        version: int
        created_on: datetime
        modified_on: datetime
        pending_events: list[Any]

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

        @classmethod
        def _create(cls, event_class: type[Any], **kwargs: Any) -> Any: ...

    # -- derived facts ---------------------------------------------------------

    @property
    def stage(self) -> str:
        """The board column: the lifecycle stage, or a side state."""
        due, delivered = self._due_and_delivered()
        return self._stage(due, due > 0 and delivered >= due)

    @property
    def progress_stage(self) -> str:
        """How far the goods and the money have got, ignoring a hold."""
        due, delivered = self._due_and_delivered()
        return self._progress_stage(due, due > 0 and delivered >= due)

    def _stage(self, due: int, fully_delivered: bool) -> str:
        if self.status in ("cancelled", "rejected", "split", "merged", "archived", "settled"):
            return self.status
        if self.on_hold:
            return "on_hold"
        return self._progress_stage(due, fully_delivered)

    def _progress_stage(self, due: int, fully_delivered: bool) -> str:
        if self.status in ("received", "verified", "rejected"):
            return self.status
        if self.status in ("settled", "archived"):
            return self.status
        if fully_delivered:
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
        """The sum of the line amounts, each rounded once to the minor unit."""
        return self._value(lambda line: line.quantity)

    def line_amount(self, line: LineState, quantity: int | None = None) -> Decimal:
        """What ``quantity`` units of ``line`` (all of them by default) are worth."""
        units = line.quantity if quantity is None else quantity
        return line_amount(units, line.unit_price, self.currency)

    def _value(self, units: Callable[[LineState], int]) -> Decimal:
        """The value of some units of every line, per line rounded once."""
        lines = self.lines.values()
        return sum((self.line_amount(line, units(line)) for line in lines), Decimal(0))

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
        return self._value(lambda line: line.shipped)

    @property
    def delivered_value(self) -> Decimal:
        return self._value(lambda line: line.delivered)

    @property
    def due_value(self) -> Decimal:
        """The value of every unit that is still to ship, ever (short-closed ones excluded)."""
        return self._value(lambda line: line.due)

    @property
    def original_promise(self) -> date | None:
        return self.promises[0].promised_date if self.promises else None

    @property
    def latest_promise(self) -> date | None:
        return self.promises[-1].promised_date if self.promises else None

    @property
    def prepayment_share(self) -> Decimal:
        """The agreed percentage that may be invoiced before delivery (0 without terms)."""
        terms = self.payment_terms
        return terms.prepayment_percent if terms is not None else Decimal(0)

    def prepayment_limit(self) -> Decimal:
        """The prepayment share of the value still to ship, rounded as an amount is."""
        return round_money(self.due_value * self.prepayment_share / 100, self.currency)

    def invoice_cap(self) -> Decimal:
        """The most that may be invoiced (net) now: the prepayment share of what
        will still ship (short-closed units excluded) plus the value delivered,
        never beyond the total."""
        return min(self.total, self.prepayment_limit() + self.delivered_value)

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
        """Remember when each stage was first reached, for lead times. Full
        delivery counts even when a prepayment invoice makes the stage jump
        straight to invoiced.

        Runs after every event, on every replay too: the lines are summed
        once for both questions.
        """
        reached = self.stage_reached
        due, delivered = self._due_and_delivered()
        fully_delivered = due > 0 and delivered >= due
        if fully_delivered and "delivered" not in reached:
            reached["delivered"] = at
        stage = self._stage(due, fully_delivered)
        if stage not in reached:
            reached[stage] = at

    def _due_and_delivered(self) -> tuple[int, int]:
        """Units still to ship ever (ordered minus written off), and delivered."""
        due = delivered = 0
        for line in self.lines.values():
            due += line.quantity - line.short_closed
            delivered += line.delivered
        return due, delivered

    def _fully_delivered(self) -> bool:
        due, delivered = self._due_and_delivered()
        return due > 0 and delivered >= due

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

    def _require_still_on_file(self) -> None:
        """Loose ends (complaints, quality issues, parts arriving) may still be
        tied up on a cancelled or settled order; only a split, merged or
        archived one is gone for good."""
        if self.status in ("split", "merged", "archived"):
            raise DomainError(
                "order_closed",
                f"the order is {self.status}; nothing more can happen to it",
                status=self.status,
            )

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


def line_state(line: Line) -> LineState:
    return LineState(line.sku, line.name, line.model, line.spec, line.quantity, line.unit_price)


def consume_allocation(line: LineState, quantity: int) -> None:
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
