"""A read model's steps, keyed by ``Order`` event class, and the topics they follow.

A step is ``step(row, event) -> row`` for one event class, typed by that
class: ``Steps[Row]().on(Order.OrderPacked, lambda r, e: ...)`` gives the
lambda's ``e`` the type ``OrderPacked``, so mypy checks every attribute a
step reads. The topics a read model follows are the classes it has a step
for (and ``OrderReceived``, where every row starts): never a copied name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from eventsourcing.utils import get_topic

from ledger.aggregates.order import Order

R = TypeVar("R")
E = TypeVar("E")

RECEIVED: type = Order.OrderReceived
"""The event that starts every row."""


class Steps(Generic[R]):
    """Per event class, how it changes a row of type ``R``.

    ``unchanged`` events are folded without changing the row (it is still
    stamped with the event's version and time: the order was active);
    ``ignored`` ones are not followed at all. A model that must account for
    every ``Order`` event (``projections.facts``) checks it with ``covering``.
    """

    def __init__(self) -> None:
        self.by_class: dict[type, Callable[[R, Any], R]] = {}
        self.unchanged: tuple[type, ...] = ()
        self.ignored: tuple[type, ...] = ()

    def on(self, event: type[E], step: Callable[[R, E], R]) -> Steps[R]:
        """``step`` for ``event`` (one step per class)."""
        if event in self.by_class:
            raise ValueError(f"two steps for {event.__name__}")
        self.by_class[event] = step
        return self

    def on_each(self, events: Iterable[type[E]], step: Callable[[R, E], R]) -> Steps[R]:
        """The same ``step`` for several event classes."""
        for event in events:
            self.on(event, step)
        return self

    def unchanging(self, *events: type) -> Steps[R]:
        """Events followed (the row is stamped) that change nothing in it."""
        self.unchanged += events
        return self

    def ignoring(self, *events: type) -> Steps[R]:
        """Events deliberately not followed."""
        self.ignored += events
        return self

    def get(self, event_class: type) -> Callable[[R, Any], R] | None:
        return self.by_class.get(event_class)

    def classes(self, *, without: Iterable[type] = ()) -> tuple[type, ...]:
        """``OrderReceived``, the classes with a step and the unchanging ones."""
        left_out = set(without)
        followed = (RECEIVED, *self.by_class, *self.unchanged)
        return tuple(cls for cls in followed if cls not in left_out)

    def topics(self, *, without: Iterable[type] = ()) -> tuple[str, ...]:
        """The notification topics of ``classes(without=...)``."""
        return tuple(get_topic(cls) for cls in self.classes(without=without))

    def missing(self, events: Iterable[type]) -> list[str]:
        """The names of ``events`` given neither a step, nor ``unchanging``,
        nor ``ignoring`` (``OrderReceived`` starts the row)."""
        known = {RECEIVED, *self.by_class, *self.unchanged, *self.ignored}
        return [cls.__name__ for cls in events if cls not in known]

    def covering(self, events: Iterable[type]) -> Steps[R]:
        """These steps, or ``TypeError`` naming the events left unaccounted for."""
        missing = self.missing(events)
        if missing:
            raise TypeError(
                f"no step, unchanging or ignoring for {', '.join(missing)} "
                "(docs/architecture.md, 'Adding an event')"
            )
        return self
