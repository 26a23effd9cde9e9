"""The compact facts about one order that the board, backlog and search rows fold.

``fold_facts(facts, event)`` is pure: it never mutates ``facts`` and returns
a new value. It mirrors the aggregate's evolve code for exactly the state
that the read models show (stage, progress counters, money, flags, dates)
and nothing more, so a read model never has to rebuild an ``Order``.
Values are JSON-native (amounts and dates are strings) so a row
round-trips through any store unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from ledger.aggregates.values import line_amount
from ledger.projections.backlog_review import BACKLOG_STEPS, NOT_ACTIVITY

EXCEPTIONS = ("delayed", "damaged", "lost")
FINAL_STATUSES = ("cancelled", "rejected", "split", "merged", "archived", "settled")


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
        return self.status == "dispatched" and self.transit in EXCEPTIONS


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
    status: str = "received"
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
    # The backlog review (``ledger.projections.backlog_review``): the last
    # review's cause and time, and each decision as (action, at, units, value).
    backlog_cause: str = ""
    last_review_at: str | None = None
    dispositions: tuple[tuple[str, str, int, str], ...] = ()

    # -- derived, exactly as the aggregate derives them ---------------------------

    @property
    def stage(self) -> str:
        if self.status in FINAL_STATUSES:
            return self.status
        return "on_hold" if self.on_hold else self.progress_stage

    @property
    def progress_stage(self) -> str:
        if self.status in ("received", "verified", "rejected", "settled", "archived"):
            return self.status
        lines = self.lines.values()
        due = sum(line.due for line in lines)
        if self.fully_delivered:
            return "invoiced" if self.net_invoiced > 0 else "delivered"
        if any(line.shipped for line in lines):
            return "shipped"
        packed = any(s.status == "packed" for s in self.shipments.values())
        allocated = sum(line.allocated for line in lines)
        if self.production_completed or packed or (due > 0 and allocated >= due):
            return "ready_to_ship"
        if self.production_percent or self.production_stage or self.has_purchases:
            return "in_production"
        return "confirmed"

    @property
    def fully_delivered(self) -> bool:
        due = self.due
        return due > 0 and sum(line.delivered for line in self.lines.values()) >= due

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


Step = Callable[[OrderFacts, Any], OrderFacts]


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
    name = type(event).__name__
    if name == "OrderReceived":
        return facts if facts is not None else _received(event)
    if facts is None or event.originator_version <= facts.version:
        return facts
    step = STEPS.get(name)
    changed = step(facts, event) if step is not None else facts
    if name in NOT_ACTIVITY:
        return stamped(facts, changed, version=event.originator_version)
    at = event.timestamp.isoformat()
    return stamped(facts, changed, version=event.originator_version, last_event_at=at)


def stamped(before: T, after: T, **changes: Any) -> T:
    """``replace(after, **changes)``, changing ``after`` in place when a step
    has just made it (it is nobody else's yet): one copy per event, not two."""
    if after is before:
        return replace(after, **changes)
    after.__dict__.update(changes)
    return after


def _received(e: Any) -> OrderFacts:
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


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _lines(lines: Any) -> dict[str, LineFacts]:
    return {ln.sku: LineFacts(ln.name, ln.quantity, str(ln.unit_price)) for ln in lines}


def _add(amount: str, more: Decimal) -> str:
    return str(Decimal(amount) + more)


def _with_line(f: OrderFacts, sku: str, **changes: int) -> OrderFacts:
    line = f.lines[sku]
    updated = replace(line, **{k: getattr(line, k) + v for k, v in changes.items()})
    return replace(f, lines={**f.lines, sku: updated})


def _with_shipment(f: OrderFacts, sid: str, **changes: Any) -> OrderFacts:
    return replace(f, shipments={**f.shipments, sid: replace(f.shipments[sid], **changes)})


def _amended(f: OrderFacts, e: Any) -> OrderFacts:
    if e.lines is not None:
        f = replace(f, lines=_lines(e.lines))
    if e.requested_date is not None:
        f = replace(f, requested_date=_iso(e.requested_date))
    return f


def _promised(f: OrderFacts, e: Any) -> OrderFacts:
    day = _iso(e.promised_date)
    return replace(f, original_promise=f.original_promise or day, latest_promise=day)


def _scheduled(f: OrderFacts, e: Any) -> OrderFacts:
    shipment = ShipmentFacts(
        "planned", str(_iso(e.planned_date)), {i.sku: i.quantity for i in e.lines}
    )
    return replace(f, shipments={**f.shipments, e.shipment_id: shipment})


def _dispatched(f: OrderFacts, e: Any) -> OrderFacts:
    lines = {i.sku: i.quantity for i in e.lines}
    f = _with_shipment(f, e.shipment_id, status="dispatched", transit="in_transit", lines=lines)
    for sku, quantity in lines.items():
        used = min(quantity, f.lines[sku].allocated)
        f = _with_line(f, sku, shipped=quantity, allocated=-used)
    return f


def _delivered(f: OrderFacts, e: Any) -> OrderFacts:
    shipment = f.shipments[e.shipment_id]
    f = _with_shipment(f, e.shipment_id, status="delivered", transit="")
    for sku, quantity in shipment.lines.items():
        f = _with_line(f, sku, delivered=quantity)
    return f


def _cancelled(f: OrderFacts, e: Any) -> OrderFacts:
    lines = {sku: replace(line, allocated=0) for sku, line in f.lines.items()}
    return replace(f, status="cancelled", on_hold=False, lines=lines)


def _without(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return tuple(i for i in items if i != item)


STEPS: dict[str, Step] = {
    "OrderVerified": lambda f, e: replace(f, status="verified"),
    "VerificationFailed": lambda f, e: replace(f, status="rejected"),
    "OrderAmended": _amended,
    "OrderConfirmed": lambda f, e: _promised(replace(f, status="confirmed"), e),
    "DeliveryDatePromised": _promised,
    "OrderSplit": lambda f, e: replace(f, status="split"),
    "OrderMerged": lambda f, e: replace(f, status="merged"),
    "ShipmentScheduled": _scheduled,
    "ShipmentRescheduled": lambda f, e: _with_shipment(
        f, e.shipment_id, planned_date=_iso(e.planned_date)
    ),
    "StockAllocated": lambda f, e: _with_line(f, e.sku, allocated=e.quantity),
    "StockReleased": lambda f, e: _with_line(f, e.sku, allocated=-e.quantity),
    "PurchaseOrdered": lambda f, e: replace(f, has_purchases=True),
    "ProductionProgressed": lambda f, e: replace(
        f, production_stage=e.stage, production_percent=e.percent
    ),
    "ProductionCompleted": lambda f, e: replace(
        f, production_percent=100, production_completed=True
    ),
    "QualityIssueRaised": lambda f, e: replace(
        f, open_quality_issues=(*_without(f.open_quality_issues, e.issue_id), e.issue_id)
    ),
    "QualityIssueResolved": lambda f, e: replace(
        f, open_quality_issues=_without(f.open_quality_issues, e.issue_id)
    ),
    "OrderPacked": lambda f, e: _with_shipment(f, e.shipment_id, status="packed"),
    "ShipmentDispatched": _dispatched,
    "LineShortClosed": lambda f, e: _with_line(f, e.sku, short_closed=e.quantity),
    "TransitUpdated": lambda f, e: _with_shipment(f, e.shipment_id, transit=e.status),
    "ShipmentDelivered": _delivered,
    "OrderInvoiced": lambda f, e: replace(f, invoiced=_add(f.invoiced, e.amount)),
    "CreditNoteIssued": lambda f, e: replace(f, credited=_add(f.credited, e.amount)),
    "PaymentReceived": lambda f, e: replace(f, paid=_add(f.paid, e.amount)),
    "OrderSettled": lambda f, e: replace(f, status="settled"),
    "ComplaintFiled": lambda f, e: replace(
        f, open_complaints=(*_without(f.open_complaints, e.complaint_id), e.complaint_id)
    ),
    "ComplaintResolved": lambda f, e: replace(
        f, open_complaints=_without(f.open_complaints, e.complaint_id)
    ),
    "OrderPutOnHold": lambda f, e: replace(f, on_hold=True),
    "OrderReleased": lambda f, e: replace(f, on_hold=False),
    "OrderCancelled": _cancelled,
    "OrderArchived": lambda f, e: replace(f, status="archived"),
    **BACKLOG_STEPS,
}

EVERY_EVENT = (
    "OrderReceived",
    *STEPS,
    "PurchaseReceived",
    "DocumentIssued",
    "DocumentStatusChanged",
)
"""Every Order event: a read model that tracks the last activity folds them all."""
ORDER_TOPIC = "ledger.aggregates.order:Order"


def topics(*names: str) -> tuple[str, ...]:
    """The notification topics of the named Order events."""
    return tuple(f"{ORDER_TOPIC}.{name}" for name in names)


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
    if "dispositions" in raw:
        raw["dispositions"] = tuple(tuple(item) for item in raw["dispositions"])
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
