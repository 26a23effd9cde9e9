"""The change feed's event types and the log topics they come from.

An order's events appear under their class name (``ShipmentDispatched``);
the alert streams' events as ``alert.overdue``, ``alert.transit_exception``
and ``alert.cleared``. A topic of neither kind is not on the feed.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventsourcing.utils import get_topic

from ledger.aggregates.alerts import OrderAlerts
from ledger.aggregates.order import EVENTS, Order

ORDER_TOPIC = get_topic(Order)
ALERT_TOPICS: dict[str, str] = {
    "alert.overdue": get_topic(OrderAlerts.OverdueRaised),
    "alert.transit_exception": get_topic(OrderAlerts.TransitExceptionRaised),
    "alert.cleared": get_topic(OrderAlerts.AlertCleared),
}
ALL = "*"


ORDER_TYPES: tuple[str, ...] = tuple(cls.__name__ for cls in EVENTS)
"""Every event an order records, by name."""
TYPES: tuple[str, ...] = (*ORDER_TYPES, *ALERT_TOPICS)
TOPICS: dict[str, str] = {
    **{f"{ORDER_TOPIC}.{name}": name for name in ORDER_TYPES},
    **{topic: name for name, topic in ALERT_TOPICS.items()},
}
"""Topic -> feed type, for every topic on the feed."""
ALERT_TYPES: dict[str, str] = {topic: name for name, topic in ALERT_TOPICS.items()}


class UnknownType(ValueError):
    """A type that is not on the feed."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"unknown event type(s) {unknown}; known: {', '.join(TYPES)}")
        self.unknown = unknown


def checked_types(types: Iterable[str]) -> tuple[str, ...]:
    """The types as given (``*`` stands for all), or ``UnknownType``."""
    wanted = tuple(dict.fromkeys(t.strip() for t in types if t.strip()))
    unknown = [t for t in wanted if t not in TYPES and t != ALL]
    if unknown:
        raise UnknownType(unknown)
    return wanted


def topics_of(types: Iterable[str] | None) -> tuple[str, ...]:
    """The log topics of these types; () for every type (none given, or ``*``)."""
    wanted = tuple(types or ())
    if not wanted or ALL in wanted:
        return ()
    by_type = {name: topic for topic, name in TOPICS.items()}
    return tuple(sorted(by_type[name] for name in wanted))
