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
from ledger.aggregates.stages import CLOSED, Stage, Status, Units
from ledger.aggregates.stages import progress_stage as derive_progress_stage
from ledger.aggregates.stages import stage as derive_stage
from ledger.aggregates.state import LineState, OrderState, ShipmentState
from ledger.aggregates.values import Line, SkuQty, line_amount, round_money

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


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


class OrderBase(OrderState):
    """The order's state as the events leave it (declared in ``OrderState``),
    what follows from it, and the guards every command shares."""

    if TYPE_CHECKING:  # the library's own attributes, for the type checker only
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
    def stage(self) -> Stage:
        """The board column: the lifecycle stage, or a side state (``stages.stage``)."""
        return derive_stage(self)

    @property
    def progress_stage(self) -> Stage:
        """How far the goods and the money have got, ignoring a hold."""
        return derive_progress_stage(self)

    def units(self) -> Units:
        """Units due (ordered minus written off), delivered, shipped and allocated."""
        due = delivered = shipped = allocated = 0
        for line in self.lines.values():
            due += line.quantity - line.short_closed
            delivered += line.delivered
            shipped += line.shipped
            allocated += line.allocated_total
        return Units(due, delivered, shipped, allocated)

    def any_packed(self) -> bool:
        return any(s.status == "packed" for s in self.shipments.values())

    def production_started(self) -> bool:
        return bool(
            self.production_percent
            or self.production_stage
            or self.production_completed
            or self.purchases
        )

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
        if self.status != Status.SETTLED:
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
        units = self.units()
        if units.fully_delivered and Stage.DELIVERED not in reached:
            reached[Stage.DELIVERED.value] = at
        stage = derive_stage(self, units)
        if stage not in reached:
            reached[stage.value] = at

    def _fully_delivered(self) -> bool:
        return self.units().fully_delivered

    # -- guards ---------------------------------------------------------------

    def _require_open(self) -> None:
        if self.status in CLOSED:
            raise DomainError(
                "order_closed",
                f"the order is {self.status}; nothing more can happen to it",
                status=self.status,
            )

    def _require_not_settled(self) -> None:
        if self.status == Status.SETTLED:
            raise DomainError("order_settled", "the order is settled")

    def _require_confirmed(self) -> None:
        self._require_open()
        self._require_not_settled()
        if self.status != Status.CONFIRMED:
            raise DomainError(
                "order_not_confirmed",
                f"the order must be confirmed first, it is {self.status}",
                status=self.status,
            )

    def _require_fulfilment_or_settled(self) -> None:
        self._require_open()
        if self.status not in (Status.CONFIRMED, Status.SETTLED):
            raise DomainError(
                "order_not_confirmed",
                f"the order must be confirmed first, it is {self.status}",
                status=self.status,
            )

    def _require_still_on_file(self) -> None:
        """Loose ends (complaints, quality issues, parts arriving) may still be
        tied up on a cancelled or settled order; only a split, merged or
        archived one is gone for good."""
        if self.status in (Status.SPLIT, Status.MERGED, Status.ARCHIVED):
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
