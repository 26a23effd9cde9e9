"""The compact facts about one order that the board, backlog and search rows fold.

``fold_facts(facts, event)`` is pure: it never mutates ``facts`` and returns
a new value. Its steps (``STEPS``, one per ``Order`` event class, typed by it) mirror
the aggregate's evolve code for exactly the state that the read models show
(progress counters, money, flags, dates) and nothing more, so a read model
never has to rebuild an ``Order``; the stage is derived from them by the
aggregate's own function (``aggregates.stages.stage``).
Values are JSON-native (amounts and dates are strings) so a row
round-trips through any store unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from ledger.aggregates.order import EVENTS, Order
from ledger.aggregates.stages import Stage, Status, Units
from ledger.aggregates.stages import progress_stage as derive_progress_stage
from ledger.aggregates.stages import stage as derive_stage
from ledger.aggregates.values import TRANSIT_EXCEPTIONS, Line, line_amount
from ledger.projections.steps import RECEIVED, Steps


@dataclass(frozen=True)
class LineFacts:
    """One ordered line's counters."""

    name: str
    quantity: int
    unit_price: str
    allocated: int = 0
    shipped: int = 0
    delivered: int = 0
    short_closed: int = 0

    @property
    def due(self) -> int:
        return self.quantity - self.short_closed

    @property
    def open(self) -> int:
        return self.quantity - self.short_closed - self.shipped

    def value(self, units: int, currency: str) -> Decimal:
        """What ``units`` of this line are worth, rounded once to the minor unit."""
        return line_amount(units, Decimal(self.unit_price), currency)


@dataclass(frozen=True)
class ShipmentFacts:
    """A shipment as far as progress and transit exceptions go."""

    status: str
    planned_date: str
    lines: dict[str, int]
    transit: str = ""

    @property
    def has_exception(self) -> bool:
        return self.status == "dispatched" and self.transit in TRANSIT_EXCEPTIONS


@dataclass(frozen=True)
class OrderFacts:
    """What the read models know about one order (never mutated)."""

    order_id: str
    number: str
    customer: str
    channel: str
    currency: str
    created_at: str
    last_event_at: str
    version: int
    status: str = Status.RECEIVED
    on_hold: bool = False
    requested_date: str | None = None
    original_promise: str | None = None
    latest_promise: str | None = None
    lines: dict[str, LineFacts] = field(default_factory=dict)
    shipments: dict[str, ShipmentFacts] = field(default_factory=dict)
    has_purchases: bool = False
    production_stage: str = ""
    production_percent: int = 0
    production_completed: bool = False
    invoiced: str = "0"
    credited: str = "0"
    paid: str = "0"
    open_quality_issues: tuple[str, ...] = ()
    open_complaints: tuple[str, ...] = ()

    # -- derived by the aggregate's own functions (``aggregates.stages``) ----------

    @property
    def stage(self) -> Stage:
        return derive_stage(self)

    @property
    def progress_stage(self) -> Stage:
        return derive_progress_stage(self)

    def units(self) -> Units:
        due = delivered = shipped = allocated = 0
        for line in self.lines.values():
            due += line.quantity - line.short_closed
            delivered += line.delivered
            shipped += line.shipped
            allocated += line.allocated
        return Units(due, delivered, shipped, allocated)

    def any_packed(self) -> bool:
        return any(s.status == "packed" for s in self.shipments.values())

    def production_started(self) -> bool:
        return bool(self.production_percent or self.production_stage or self.has_purchases)

    @property
    def fully_delivered(self) -> bool:
        return self.units().fully_delivered

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts, each rounded once (``values.line_amount``)."""
        return self.value_of(lambda line: line.quantity)

    def value_of(self, units: Callable[[LineFacts], int]) -> Decimal:
        """The value of some units of every line, per line rounded once."""
        currency, lines = self.currency, self.lines.values()
        return sum(
            (line_amount(units(ln), Decimal(ln.unit_price), currency) for ln in lines), Decimal(0)
        )

    @property
    def net_invoiced(self) -> Decimal:
        return Decimal(self.invoiced) - Decimal(self.credited)

    @property
    def due(self) -> int:
        return sum(line.due for line in self.lines.values())

    @property
    def shipped(self) -> int:
        return sum(line.shipped for line in self.lines.values())

    @property
    def open_quantity(self) -> int:
        return sum(line.open for line in self.lines.values())

    @property
    def open_value(self) -> Decimal:
        return self.value_of(lambda line: line.open)

    @property
    def transit_exception(self) -> bool:
        return any(s.has_exception for s in self.shipments.values())


def fraction(part: int | Decimal, whole: int | Decimal) -> str:
    """part/whole as an exact reduced fraction ("2/3"); 0 of 0 is "0"."""
    if not whole:
        return "0"
    return str(Fraction(part) / Fraction(whole))


# -- the fold -----------------------------------------------------------------------

T = TypeVar("T")


def replace(value: T, **changes: Any) -> T:
    """A changed copy of a facts dataclass, like ``dataclasses.replace`` but
    without re-running ``__init__`` (a tenth of the cost, on the hot path)."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__)
    new.__dict__.update(changes)
    return new


_last: tuple[Any, Any, OrderFacts | None] = (None, None, None)
"""The last fold's (facts, event, result): the board, backlog, search and
reports rows of one order are the same facts object during a rebuild's single
pass, so the three after the first reuse its result instead of folding again."""


def fold_facts(facts: OrderFacts | None, event: Any) -> OrderFacts | None:
    """The facts after ``event``; events already folded (by version) change nothing."""
    global _last
    last = _last
    if last[1] is event and last[0] is facts:
        return last[2]
    folded = _fold_facts(facts, event)
    _last = (facts, event, folded)
    return folded


def _fold_facts(facts: OrderFacts | None, event: Any) -> OrderFacts | None:
    cls = type(event)
    if cls is RECEIVED:
        return facts if facts is not None else _received(event)
    if facts is None or event.originator_version <= facts.version:
        return facts
    step = STEPS.get(cls)
    changed = step(facts, event) if step is not None else facts
    at = event.timestamp.isoformat()
    return stamped(facts, changed, version=event.originator_version, last_event_at=at)


def stamped(before: T, after: T, **changes: Any) -> T:
    """``replace(after, **changes)``, changing ``after`` in place when a step
    has just made it (it is nobody else's yet): one copy per event, not two."""
    if after is before:
        return replace(after, **changes)
    after.__dict__.update(changes)
    return after


def _received(e: Order.OrderReceived) -> OrderFacts:
    return OrderFacts(
        order_id=str(e.originator_id),
        number=e.number,
        customer=e.customer.name,
        channel=e.channel,
        currency=e.currency,
        created_at=e.timestamp.isoformat(),
        last_event_at=e.timestamp.isoformat(),
        version=e.originator_version,
        requested_date=_iso(e.requested_date),
        lines=_lines(e.lines),
    )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _lines(lines: Iterable[Line]) -> dict[str, LineFacts]:
    return {ln.sku: LineFacts(ln.name, ln.quantity, str(ln.unit_price)) for ln in lines}


def _add(amount: str, more: Decimal) -> str:
    return str(Decimal(amount) + more)


def _with_line(f: OrderFacts, sku: str, **changes: int) -> OrderFacts:
    line = f.lines[sku]
    updated = replace(line, **{k: getattr(line, k) + v for k, v in changes.items()})
    return replace(f, lines={**f.lines, sku: updated})


def _with_shipment(f: OrderFacts, sid: str, **changes: Any) -> OrderFacts:
    return replace(f, shipments={**f.shipments, sid: replace(f.shipments[sid], **changes)})


def _amended(f: OrderFacts, e: Order.OrderAmended) -> OrderFacts:
    if e.lines is not None:
        f = replace(f, lines=_lines(e.lines))
    if e.requested_date is not None:
        f = replace(f, requested_date=_iso(e.requested_date))
    return f


def _promised(f: OrderFacts, day: date) -> OrderFacts:
    iso = day.isoformat()
    return replace(f, original_promise=f.original_promise or iso, latest_promise=iso)


def _scheduled(f: OrderFacts, e: Order.ShipmentScheduled) -> OrderFacts:
    shipment = ShipmentFacts(
        "planned", e.planned_date.isoformat(), {i.sku: i.quantity for i in e.lines}
    )
    return replace(f, shipments={**f.shipments, e.shipment_id: shipment})


def _dispatched(f: OrderFacts, e: Order.ShipmentDispatched) -> OrderFacts:
    lines = {i.sku: i.quantity for i in e.lines}
    f = _with_shipment(f, e.shipment_id, status="dispatched", transit="in_transit", lines=lines)
    for sku, quantity in lines.items():
        used = min(quantity, f.lines[sku].allocated)
        f = _with_line(f, sku, shipped=quantity, allocated=-used)
    return f


def _delivered(f: OrderFacts, e: Order.ShipmentDelivered) -> OrderFacts:
    shipment = f.shipments[e.shipment_id]
    f = _with_shipment(f, e.shipment_id, status="delivered", transit="")
    for sku, quantity in shipment.lines.items():
        f = _with_line(f, sku, delivered=quantity)
    return f


def _cancelled(f: OrderFacts, e: Order.OrderCancelled) -> OrderFacts:
    lines = {sku: replace(line, allocated=0) for sku, line in f.lines.items()}
    return replace(f, status=Status.CANCELLED, on_hold=False, lines=lines)


def _without(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return tuple(i for i in items if i != item)


def _status(status: Status) -> Callable[[OrderFacts, object], OrderFacts]:
    return lambda f, e: replace(f, status=status)


STEPS: Steps[OrderFacts] = (
    Steps[OrderFacts]()
    .on(Order.OrderVerified, _status(Status.VERIFIED))
    .on(Order.VerificationFailed, _status(Status.REJECTED))
    .on(Order.OrderAmended, _amended)
    .on(
        Order.OrderConfirmed,
        lambda f, e: _promised(replace(f, status=Status.CONFIRMED), e.promised_date),
    )
    .on(Order.DeliveryDatePromised, lambda f, e: _promised(f, e.promised_date))
    .on(Order.OrderSplit, _status(Status.SPLIT))
    .on(Order.OrderMerged, _status(Status.MERGED))
    .on(Order.ShipmentScheduled, _scheduled)
    .on(
        Order.ShipmentRescheduled,
        lambda f, e: _with_shipment(f, e.shipment_id, planned_date=e.planned_date.isoformat()),
    )
    .on(Order.StockAllocated, lambda f, e: _with_line(f, e.sku, allocated=e.quantity))
    .on(Order.StockReleased, lambda f, e: _with_line(f, e.sku, allocated=-e.quantity))
    .on(Order.PurchaseOrdered, lambda f, e: replace(f, has_purchases=True))
    .on(
        Order.ProductionProgressed,
        lambda f, e: replace(f, production_stage=e.stage, production_percent=e.percent),
    )
    .on(
        Order.ProductionCompleted,
        lambda f, e: replace(f, production_percent=100, production_completed=True),
    )
    .on(
        Order.QualityIssueRaised,
        lambda f, e: replace(
            f, open_quality_issues=(*_without(f.open_quality_issues, e.issue_id), e.issue_id)
        ),
    )
    .on(
        Order.QualityIssueResolved,
        lambda f, e: replace(f, open_quality_issues=_without(f.open_quality_issues, e.issue_id)),
    )
    .on(Order.OrderPacked, lambda f, e: _with_shipment(f, e.shipment_id, status="packed"))
    .on(Order.ShipmentDispatched, _dispatched)
    .on(Order.LineShortClosed, lambda f, e: _with_line(f, e.sku, short_closed=e.quantity))
    .on(Order.TransitUpdated, lambda f, e: _with_shipment(f, e.shipment_id, transit=e.status))
    .on(Order.ShipmentDelivered, _delivered)
    .on(Order.OrderInvoiced, lambda f, e: replace(f, invoiced=_add(f.invoiced, e.amount)))
    .on(Order.CreditNoteIssued, lambda f, e: replace(f, credited=_add(f.credited, e.amount)))
    .on(Order.PaymentReceived, lambda f, e: replace(f, paid=_add(f.paid, e.amount)))
    .on(Order.OrderSettled, _status(Status.SETTLED))
    .on(
        Order.ComplaintFiled,
        lambda f, e: replace(
            f, open_complaints=(*_without(f.open_complaints, e.complaint_id), e.complaint_id)
        ),
    )
    .on(
        Order.ComplaintResolved,
        lambda f, e: replace(f, open_complaints=_without(f.open_complaints, e.complaint_id)),
    )
    .on(Order.OrderPutOnHold, lambda f, e: replace(f, on_hold=True))
    .on(Order.OrderReleased, lambda f, e: replace(f, on_hold=False))
    .on(Order.OrderCancelled, _cancelled)
    .on(Order.OrderArchived, _status(Status.ARCHIVED))
    # Activity on the order that the facts do not show: the backlog follows
    # them (an order with parts arriving or documents moving is not quiet).
    .unchanging(Order.PurchaseReceived, Order.DocumentIssued, Order.DocumentStatusChanged)
    # Not follow-up activity: erasing a customer's personal data.
    .ignoring(Order.PersonalDataErased)
    .covering(EVENTS)
)
"""The facts' step per ``Order`` event; every event is accounted for (else
``TypeError`` on import: a new event cannot be forgotten silently)."""


# -- storage --------------------------------------------------------------------------


def plain_facts(facts: OrderFacts) -> dict[str, Any]:
    """The facts as JSON-native values (``load_facts`` takes them back)."""
    plain = dict(facts.__dict__)
    plain["lines"] = {sku: line.__dict__ for sku, line in facts.lines.items()}
    plain["shipments"] = {sid: s.__dict__ for sid, s in facts.shipments.items()}
    return plain


def dump_facts(facts: OrderFacts) -> str:
    """The facts as compact JSON."""
    return json.dumps(plain_facts(facts), ensure_ascii=False, separators=(",", ":"))


def load_facts(data: str | dict[str, Any]) -> OrderFacts:
    """The facts from ``dump_facts`` output (or its parsed dict)."""
    raw = json.loads(data) if isinstance(data, str) else dict(data)
    raw["lines"] = {sku: _made(LineFacts, line) for sku, line in raw["lines"].items()}
    raw["shipments"] = {sid: _made(ShipmentFacts, s) for sid, s in raw["shipments"].items()}
    raw["open_quality_issues"] = tuple(raw["open_quality_issues"])
    raw["open_complaints"] = tuple(raw["open_complaints"])
    return _made(OrderFacts, raw)


_FIELDS: dict[type, frozenset[str]] = {
    cls: frozenset(cls.__dataclass_fields__) for cls in (OrderFacts, LineFacts, ShipmentFacts)
}


def _made(cls: type[T], values: dict[str, Any]) -> T:
    """``cls(**values)``; when ``values`` names exactly every field (a row
    dumped by this code), without running the frozen ``__init__`` (which
    sets each field through ``object.__setattr__``: most of a row's load)."""
    if values.keys() != _FIELDS[cls]:
        return cls(**values)
    made = object.__new__(cls)
    made.__dict__.update(values)
    return made
