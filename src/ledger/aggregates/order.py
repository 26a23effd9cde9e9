"""The Order aggregate: every action of the follow-up process is an event.

Commands (imperative methods) check their guards first and raise
``DomainError`` before anything is triggered, so a refused command records
nothing. Events (nested, past tense) only evolve state in ``evolve``; that
code runs again on every replay, so it never reads clocks or random values
and never refuses. Stage and progress are derived from the counters the
events maintain, never stored as ratios.

The commands live in one mixin per part of the process (receiving,
planning, shipping, finance, aftercare); their events are nested next to
them and reachable as ``Order.<EventName>``.
"""

from __future__ import annotations

import pickle
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.aggregates.aftercare import Aftercare
from ledger.aggregates.base import OrderEvent
from ledger.aggregates.context import current_stamp
from ledger.aggregates.finance import Finance
from ledger.aggregates.planning import Planning
from ledger.aggregates.receiving import Receiving
from ledger.aggregates.shipping import Shipping
from ledger.aggregates.stages import CLOSED, SIDE_STAGES, STAGES

__all__ = ["CLOSED", "EVENTS", "SIDE_STAGES", "STAGES", "Order"]


class Order(Receiving, Planning, Shipping, Finance, Aftercare, Aggregate):
    """A sales order followed from receipt to archive."""

    Event = OrderEvent

    def __init__(self) -> None:
        """State is set by OrderReceived.evolve, on creation and on replay."""

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        stamp = current_stamp()
        kwargs.setdefault("timestamp", stamp.at)
        kwargs.setdefault("meta", dict(stamp.meta))
        super().trigger_event(event_class, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> Order:
        """A deep copy through pickle, cheaper than ``copy.deepcopy``'s
        generic walk of the state's dataclasses.

        The library's aggregate cache hands out a deep copy on every read,
        so that a command cannot corrupt the cached order. The order shares
        no objects with anything outside it, so ``memo`` has nothing to add.
        """
        copied: Order = pickle.loads(pickle.dumps(self, pickle.HIGHEST_PROTOCOL))
        memo[id(self)] = copied
        return copied


def _events() -> tuple[type[OrderEvent], ...]:
    """Every event class an order records, by name (the library's own bases
    ``Event`` and ``Created`` are never recorded)."""
    names = (name for name in sorted(dir(Order)) if name not in ("Event", "Created"))
    return tuple(
        cls
        for name in names
        if isinstance(cls := getattr(Order, name), type) and issubclass(cls, OrderEvent)
    )


EVENTS: tuple[type[OrderEvent], ...] = _events()
"""Every ``Order`` event class: each has a step or an explicit no-op in the
read models' facts (``projections.facts``), labels in both languages and a
personal-data declaration (``tests/projections/test_event_declarations.py``)."""
