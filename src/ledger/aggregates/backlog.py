"""Backlog review: why a stuck order is stuck, and what was decided about it.

``BacklogReviewed`` records a periodic review's cause (one of ``CAUSES``)
and a note. ``BacklogDisposed`` records the decision, one of ``ACTIONS``:

- **discount**: new, lower unit prices for some lines (each line's amount
  rounded once, as always); the event carries the order's new total;
- **resell**: the open, unplanned units go to another customer as a new
  order linked to this one (``split_from``, like a split's child); here
  they are closed;
- **donate**: the open, unplanned units are closed with the reason;
- **cancel**: the order is cancelled, under the same guards as a cancellation.

A decision needs a review first. When a resale or donation leaves nothing at
all to ship (nothing was shipped before), the order ends cancelled, with the
decision's reason; the event says so (``closes``), so replay never decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.state import BacklogReviewState, DispositionState
from ledger.aggregates.values import UNIT_PRICE_PLACES, Customer, Delivery, SkuQty, line_amount

if TYPE_CHECKING:
    from ledger.aggregates.order import Order

CAUSES = (
    "customer_delay",
    "stock_shortage",
    "production_delay",
    "quality_hold",
    "payment_hold",
    "documents",
    "other",
)
ACTIONS = ("discount", "resell", "donate", "cancel")


def reviews_of(order: Any) -> list[BacklogReviewState]:
    """The order's reviews (none on an order restored from an older snapshot)."""
    reviews: list[BacklogReviewState] = vars(order).setdefault("backlog_reviews", [])
    return reviews


def dispositions_of(order: Any) -> list[DispositionState]:
    """The order's backlog decisions, oldest first."""
    decided: list[DispositionState] = vars(order).setdefault("dispositions", [])
    return decided


class Backlog(OrderBase):
    """Commands of the periodic review of stuck orders."""

    privacy = Privacy(public=("backlog_reviews", "dispositions"))

    if TYPE_CHECKING:
        backlog_reviews: list[BacklogReviewState]
        dispositions: list[DispositionState]

    class BacklogReviewed(Aggregate.Event):
        cause: str
        note: str
        privacy = Privacy(personal=("note",), public=("cause",))

        def evolve(self, order: Order) -> None:
            reviews_of(order).append(BacklogReviewState(self.cause, self.note, self.timestamp))

    def review_backlog(self, *, cause: str, note: str = "") -> None:
        """Record why the order is stuck; "other" needs a note saying what."""
        self._require_open()
        self._require_not_settled()
        rules.require_choice("cause", cause, CAUSES)
        if cause == "other":
            rules.require_text("note", note)
        self.trigger_event(self.BacklogReviewed, cause=cause, note=note)

    class BacklogDisposed(Aggregate.Event):
        action: str
        reason: str
        prices: dict[str, Decimal]  # discount: sku -> new unit price
        lines: dict[str, int]  # resell, donate: sku -> units closed here
        total: Decimal  # the order's total after the decision
        closes: bool  # the order ends cancelled
        resold_to: str
        resold_number: str
        privacy = Privacy(
            personal=("reason",),
            public=("action", "prices", "lines", "resold_to", "resold_number"),
        )

        def evolve(self, order: Order) -> None:
            for sku, price in self.prices.items():
                order.lines[sku].unit_price = price
            for sku, quantity in self.lines.items():
                order.lines[sku].short_closed += quantity
            if self.action == "cancel" or self.closes:
                order.status = "cancelled"
                order.cancel_reason = self.reason
                order.on_hold = False
                for line in order.lines.values():
                    line.allocated = {}
            dispositions_of(order).append(
                DispositionState(
                    self.action,
                    self.reason,
                    self.timestamp,
                    prices=dict(self.prices),
                    lines=dict(self.lines),
                    resold_to=self.resold_to,
                    resold_number=self.resold_number,
                )
            )

    def check_disposal(
        self,
        action: str,
        reason: str,
        prices: Mapping[str, Decimal] | None = None,
        customer: Customer | None = None,
        delivery: Delivery | None = None,
    ) -> dict[str, int]:
        """Refuse a decision that may not be taken; else the units it closes
        (resell, donate)."""
        self._require_open()
        self._require_not_settled()
        rules.require_choice("action", action, ACTIONS)
        rules.require_text("reason", reason)
        if not reviews_of(self):
            raise DomainError(
                "backlog_not_reviewed", "review the order (its cause) before deciding about it"
            )
        if action == "discount":
            self._check_discount(prices or {})
            return {}
        if action == "cancel":
            self._check_cancel()
            return {}
        self._require_confirmed()
        self._require_not_on_hold("resold" if action == "resell" else "donated")
        if action == "resell":
            if customer is None or delivery is None:
                raise DomainError(
                    "resell_needs_customer", "a resale names the new customer and delivery"
                )
            rules.require_text("customer name", customer.name)
            rules.require_delivery(delivery)
            if customer.name == self.customer.name:
                raise DomainError(
                    "resell_needs_another_customer", "resell to another customer than this one"
                )
        return self._disposable_units()

    def _check_discount(self, prices: Mapping[str, Decimal]) -> None:
        if not prices:
            raise DomainError("discount_needs_prices", "a discount gives a new unit price")
        for sku, price in prices.items():
            line = self._require_line(sku)
            rules.require_amount_not_negative("unit price", price)
            exponent = price.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -UNIT_PRICE_PLACES:
                raise DomainError(
                    "amount_has_too_many_decimals",
                    f"unit prices have at most {UNIT_PRICE_PLACES} decimals",
                    field="unit_price",
                )
            if price >= line.unit_price:
                raise DomainError(
                    "discount_must_lower_price",
                    f"{sku}: the new unit price must be below {line.unit_price}",
                    sku=sku,
                    unit_price=str(line.unit_price),
                )
            if line.open <= 0:
                raise DomainError("nothing_open_to_discount", f"{sku} has nothing open", sku=sku)
            if line.invoiced:
                raise DomainError(
                    "cannot_discount_invoiced_line", f"{sku} is already invoiced", sku=sku
                )
        total = self._total_with(prices)
        if total < self.net_invoiced:
            raise DomainError(
                "cannot_discount_below_invoiced",
                "the new total would be less than what is already invoiced",
                new_total=str(total),
                net_invoiced=str(self.net_invoiced),
            )

    def _check_cancel(self) -> None:
        if any(s.is_dispatched for s in self.shipments.values()):
            raise DomainError("cannot_cancel_after_dispatch", "goods have already been dispatched")
        if self.net_invoiced > 0 or self.paid_amount > 0:
            raise DomainError(
                "cannot_cancel_invoiced_order", "credit the invoices before cancelling"
            )

    def _disposable_units(self) -> dict[str, int]:
        """Per line, the open units not planned for a shipment; refused while
        stock is allocated to them, or when there are none."""
        planned = self.planned_quantities()
        units: dict[str, int] = {}
        for sku, line in self.lines.items():
            free = line.due - planned.get(sku, 0)
            if free <= 0:
                continue
            if line.open - free < line.allocated_total:
                raise DomainError(
                    "cannot_dispose_allocated_quantity",
                    f"{sku}: release allocated stock first",
                    sku=sku,
                    allocated=line.allocated_total,
                )
            units[sku] = free
        if not units:
            raise DomainError(
                "nothing_left_to_dispose", "every open unit is planned for a shipment"
            )
        return units

    def _total_with(self, prices: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (
                line_amount(line.quantity, prices.get(sku, line.unit_price), self.currency)
                for sku, line in self.lines.items()
            ),
            Decimal(0),
        )

    def dispose_backlog(
        self,
        *,
        action: str,
        reason: str,
        prices: Mapping[str, Decimal] | None = None,
        customer: Customer | None = None,
        delivery: Delivery | None = None,
        resold_id: UUID | None = None,
        resold_number: str = "",
    ) -> list[Order]:
        """Decide about a reviewed stuck order. Returns the new order of a
        resale (save it together with this one), else nothing."""
        units = self.check_disposal(action, reason, prices, customer, delivery)
        if action == "resell" and (resold_id is None or not resold_number):
            raise DomainError("resell_needs_number", "a resale needs the new order's number")
        given = dict(prices or {}) if action == "discount" else {}
        total = self._total_with(given)
        shipped_any = any(line.shipped for line in self.lines.values())
        due_after = sum(line.due for line in self.lines.values()) - sum(units.values())
        closes = action in ("resell", "donate") and due_after == 0 and not shipped_any
        # The new order's lines, taken before this order's are closed.
        resold_lines = [self._line_with_quantity(SkuQty(sku, q)) for sku, q in units.items()]
        self.trigger_event(
            self.BacklogDisposed,
            action=action,
            reason=reason,
            prices=given,
            lines=units,
            total=total,
            closes=closes,
            resold_to=str(resold_id) if action == "resell" else "",
            resold_number=resold_number if action == "resell" else "",
        )
        if action != "resell":
            return []
        assert customer is not None and delivery is not None and resold_id is not None
        order_class: Any = type(self)
        return [
            order_class.receive(
                order_id=resold_id,
                number=resold_number,
                channel=self.channel,
                customer=customer,
                lines=resold_lines,
                currency=self.currency,
                delivery=delivery,
                requested_date=self.requested_date,
                split_from=str(self.id),
            )
        ]
