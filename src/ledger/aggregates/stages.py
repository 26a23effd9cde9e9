"""The order's statuses and stages, and the one derivation of its stage.

``Status`` is what the events record (``order.status``); ``Stage`` is the
board column derived from the status, the hold and the progress counters.
Both are ``StrEnum``: a member is its text, so it is stored, compared,
rendered and sent as JSON exactly as the bare string was.

``stage`` and ``progress_stage`` are pure functions of anything that can
answer the ``Progress`` questions: the aggregate (``OrderBase``) and the
read models' compact facts (``projections.facts.OrderFacts``) both do, so
the stage is worked out by this code alone.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol


class Status(StrEnum):
    """Where the order's own record stands (set by events only)."""

    RECEIVED = "received"
    VERIFIED = "verified"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"
    SPLIT = "split"
    MERGED = "merged"
    CANCELLED = "cancelled"
    SETTLED = "settled"
    ARCHIVED = "archived"


class Stage(StrEnum):
    """The board column: the lifecycle stage (``STAGES``) or a side state."""

    RECEIVED = "received"
    VERIFIED = "verified"
    CONFIRMED = "confirmed"
    IN_PRODUCTION = "in_production"
    READY_TO_SHIP = "ready_to_ship"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    SETTLED = "settled"
    ARCHIVED = "archived"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    SPLIT = "split"
    MERGED = "merged"


STAGES: tuple[Stage, ...] = (
    Stage.RECEIVED,
    Stage.VERIFIED,
    Stage.CONFIRMED,
    Stage.IN_PRODUCTION,
    Stage.READY_TO_SHIP,
    Stage.SHIPPED,
    Stage.DELIVERED,
    Stage.INVOICED,
    Stage.SETTLED,
    Stage.ARCHIVED,
)
"""The stages an order goes through, in order."""
SIDE_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if s not in STAGES)
"""The stages beside the lifecycle: a hold, or an order that left it."""

CLOSED: frozenset[str] = frozenset({Status.CANCELLED, Status.SPLIT, Status.MERGED, Status.ARCHIVED})
"""Statuses after which nothing more happens to the order (nor its board card)."""
FINISHED: frozenset[str] = CLOSED | {Status.SETTLED}
"""Statuses of an order with nothing left to follow up (the backlog's end)."""
FINAL: frozenset[str] = FINISHED | {Status.REJECTED}
"""Statuses that are the stage whatever else is true (a hold included)."""
REPLACED: frozenset[str] = frozenset({Status.SPLIT, Status.MERGED})
"""Statuses of an order whose goods live on in the orders that replaced it."""
WITHDRAWN: frozenset[str] = REPLACED | {Status.CANCELLED}
"""Statuses of an order whose goods are no longer wanted under it."""
_OWN_PROGRESS: frozenset[str] = frozenset(
    {Status.RECEIVED, Status.VERIFIED, Status.REJECTED, Status.SETTLED, Status.ARCHIVED}
)
_STAGE_OF: dict[str, Stage] = {stage.value: stage for stage in Stage}


class Units(NamedTuple):
    """The order's units summed over its lines (one pass)."""

    due: int
    """Ordered minus written off (short-closed)."""
    delivered: int
    shipped: int
    allocated: int

    @property
    def fully_delivered(self) -> bool:
        return self.due > 0 and self.delivered >= self.due


class Progress(Protocol):
    """What the stage is derived from."""

    @property
    def status(self) -> str: ...

    @property
    def on_hold(self) -> bool: ...

    @property
    def production_completed(self) -> bool: ...

    @property
    def net_invoiced(self) -> Decimal: ...

    def units(self) -> Units: ...

    def any_packed(self) -> bool: ...

    def production_started(self) -> bool: ...


def stage(order: Progress, units: Units | None = None) -> Stage:
    """The board column: a final status, else a hold, else the progress stage."""
    status = order.status
    if status in FINAL:
        return _STAGE_OF[status]
    if order.on_hold:
        return Stage.ON_HOLD
    return progress_stage(order, units)


def progress_stage(order: Progress, units: Units | None = None) -> Stage:
    """How far the goods and the money have got, ignoring a hold. ``units``
    may be given when the caller has just summed them."""
    status = order.status
    if status in _OWN_PROGRESS:
        return _STAGE_OF[status]
    u = order.units() if units is None else units
    if u.fully_delivered:
        return Stage.INVOICED if order.net_invoiced > 0 else Stage.DELIVERED
    if u.shipped:
        return Stage.SHIPPED
    if order.production_completed or order.any_packed() or (u.due > 0 and u.allocated >= u.due):
        return Stage.READY_TO_SHIP
    if order.production_started():
        return Stage.IN_PRODUCTION
    return Stage.CONFIRMED
