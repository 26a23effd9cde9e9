"""Receiving an order, checking it, agreeing it with the customer, splitting and merging it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase, line_state
from ledger.aggregates.context import current_stamp
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.stages import Status
from ledger.aggregates.state import OrderState, PromiseState
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    SkuQty,
    lines_total,
)

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


class Receiving(OrderBase):
    """Commands from receipt to confirmation, split and merge."""

    # -- receiving ---------------------------------------------------------

    class OrderReceived(Aggregate.Created):
        number: str
        channel: str
        customer: Customer
        lines: list[Line]
        currency: str
        delivery: Delivery
        requested_date: date | None
        split_from: str
        merged_from: list[str]
        # ``originator_topic``: the library's, naming the aggregate class.
        privacy = Privacy(
            public=(
                "number",
                "channel",
                "currency",
                "split_from",
                "merged_from",
                "originator_topic",
            )
        )

        def evolve(self, order: Order) -> None:
            OrderState.__init__(
                order,
                number=self.number,
                channel=self.channel,
                customer=self.customer,
                currency=self.currency,
                delivery=self.delivery,
                requested_date=self.requested_date,
                lines={line.sku: line_state(line) for line in self.lines},
                split_from=self.split_from,
                merged_from=list(self.merged_from),
            )

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
        cls.check_receipt(channel, customer, lines, currency, delivery, requested_date)
        stamp = current_stamp()
        order: Order = cls._create(
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
        return order

    @staticmethod
    def check_receipt(
        channel: str,
        customer: Customer,
        lines: Sequence[Line],
        currency: str,
        delivery: Delivery,
        requested_date: date | None = None,
    ) -> None:
        """Refuse an incomplete order before a number is spent on it."""
        rules.require_choice("channel", channel, rules.CHANNELS)
        rules.require_text("customer name", customer.name)
        rules.require_currency(currency)
        rules.require_delivery(delivery)
        rules.require_lines(lines, currency)
        rules.require_business_date("requested_date", requested_date)

    # -- verification, amendment, confirmation ----------------------------

    class OrderVerified(Aggregate.Event):
        checks: dict[str, bool]
        privacy = Privacy(public=("checks",))

        def evolve(self, order: Order) -> None:
            order.checks = dict(self.checks)
            order.problems = []
            order.status = Status.VERIFIED.value

    class VerificationFailed(Aggregate.Event):
        checks: dict[str, bool]
        problems: list[str]
        privacy = Privacy(personal=("problems",), public=("checks",))

        def evolve(self, order: Order) -> None:
            order.checks = dict(self.checks)
            order.problems = list(self.problems)
            order.status = Status.REJECTED.value

    def verify(self, checks: dict[str, bool], problems: Sequence[str] = ()) -> None:
        """Record the check of customer, product and delivery details.

        All checks passing with no problem verifies the order; anything else
        rejects it until it is amended and verified again.
        """
        self._require_open()
        if self.status not in (Status.RECEIVED, Status.REJECTED):
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

    class OrderAmended(Aggregate.Event):
        lines: list[Line] | None
        delivery: Delivery | None
        requested_date: date | None
        reason: str
        privacy = Privacy(personal=("reason",))

        def evolve(self, order: Order) -> None:
            if self.lines is not None:
                order.lines = {line.sku: line_state(line) for line in self.lines}
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
        if self.production_started():
            raise DomainError(
                "cannot_amend_after_production_started",
                "the order can only be amended before production starts",
                stage=self.stage,
            )
        if lines is not None and any(
            line.short_closed or line.invoiced for line in self.lines.values()
        ):
            raise DomainError(
                "cannot_amend_lines_with_progress",
                "lines with short-closed or invoiced quantities cannot be replaced",
            )
        rules.require_business_date("requested_date", requested_date)
        if lines is not None:
            rules.require_lines(lines, self.currency)
            if self.shipments or any(line.allocated_total for line in self.lines.values()):
                raise DomainError(
                    "cannot_amend_lines_with_shipments_or_allocations",
                    "release stock and plan shipments again after changing lines",
                )
            new_total = lines_total(lines, self.currency)
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

    class OrderConfirmed(Aggregate.Event):
        promised_date: date
        payment_terms: PaymentTerms
        invoice_info: dict[str, str]
        special_requirements: str
        contract_ref: str
        privacy = Privacy(
            personal=("invoice_info", "special_requirements"),
            public=("contract_ref",),
        )

        def evolve(self, order: Order) -> None:
            order.status = Status.CONFIRMED.value
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
        if self.status in (Status.CONFIRMED, Status.SETTLED):
            raise DomainError("order_already_confirmed", "the order is already confirmed")
        if self.status != Status.VERIFIED:
            raise DomainError(
                "order_not_verified",
                f"only a verified order can be confirmed, this one is {self.status}",
                status=self.status,
            )
        rules.require_payment_terms(payment_terms)
        rules.require_business_date("promised_date", promised_date)
        self.trigger_event(
            self.OrderConfirmed,
            promised_date=promised_date,
            payment_terms=payment_terms,
            invoice_info=dict(invoice_info or {}),
            special_requirements=special_requirements,
            contract_ref=contract_ref,
        )

    class DeliveryDatePromised(Aggregate.Event):
        promised_date: date
        reason: str
        privacy = Privacy(personal=("reason",))

        def evolve(self, order: Order) -> None:
            order.promises.append(PromiseState(self.promised_date, self.reason, self.timestamp))

    def promise_date(self, promised_date: date, reason: str) -> None:
        """Promise a new delivery date; earlier promises stay on record."""
        self._require_confirmed()
        rules.require_text("reason", reason)
        rules.require_business_date("promised_date", promised_date)
        self.trigger_event(self.DeliveryDatePromised, promised_date=promised_date, reason=reason)

    # -- split and merge --------------------------------------------------

    class OrderSplit(Aggregate.Event):
        children: list[dict[str, Any]]  # {"order_id", "number", "lines": [SkuQty]}
        privacy = Privacy(public=("children",))

        def evolve(self, order: Order) -> None:
            order.status = Status.SPLIT.value
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
            self.receive(
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

    class OrderMerged(Aggregate.Event):
        into: str
        into_number: str
        privacy = Privacy(public=("into", "into_number"))

        def evolve(self, order: Order) -> None:
            order.status = Status.MERGED.value
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
        lines = _combine_lines(sources)
        rules.require_lines(lines, first.currency, "the merged order")
        return lines

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
