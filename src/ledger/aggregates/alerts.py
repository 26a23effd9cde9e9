"""The alerts raised about one order, as events of a stream of their own.

The alert scan finds the conditions a merchandiser must act on (an order
past its promise, a dispatched shipment delayed, damaged or lost). Each is
recorded here once when it starts and once when it ends, so the change feed
and the webhooks carry it once per condition, at a position in the log like
any other event. The stream is kept beside the order's own (its id derives
from the order's), so raising an alert never changes the order's version
and never counts as activity on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

ALERTS_NAMESPACE = UUID("0c7d3f5e-2a9b-4e41-8f36-5a1e7b9d2c40")
OVERDUE = "overdue"
TRANSIT_EXCEPTION = "transit_exception"


def alerts_id(order_id: UUID | str) -> UUID:
    """The id of the order's alert stream."""
    return uuid5(ALERTS_NAMESPACE, str(order_id))


def transit_condition(shipment_id: str) -> str:
    return f"{TRANSIT_EXCEPTION}:{shipment_id}"


class AlertEvent(Aggregate.Event):
    """Base of the alert events: which order, as judged at which of its versions."""

    meta: dict[str, Any]
    order_id: str
    number: str
    order_version: int
    stage: str
    condition: str

    def mutate(self, aggregate: Any) -> Any:
        # A stream has no creation event of its own: its first alert opens it.
        if aggregate is None:
            aggregate = OrderAlerts.opened(self.originator_id, self.timestamp)
        return super().mutate(aggregate)


class OrderAlerts(Aggregate):
    """The conditions currently raised about one order."""

    Event = AlertEvent

    raised: dict[str, str]  # condition -> kind

    class OverdueRaised(AlertEvent):
        severity: str
        detail: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.raised[self.condition] = OVERDUE

    class TransitExceptionRaised(AlertEvent):
        shipment_id: str
        status: str
        severity: str

        def apply(self, aggregate: Any) -> None:
            aggregate.raised[self.condition] = TRANSIT_EXCEPTION

    class AlertCleared(AlertEvent):
        kind: str

        def apply(self, aggregate: Any) -> None:
            aggregate.raised.pop(self.condition, None)

    @classmethod
    def opened(cls, stream_id: UUID, at: datetime) -> OrderAlerts:
        """An empty stream, before its first event."""
        shell = cls.__new__(cls)
        shell.__base_init__(originator_id=stream_id, originator_version=0, timestamp=at)
        shell.raised = {}
        return shell

    def raise_overdue(self, order: dict[str, Any], severity: str, detail: dict[str, Any]) -> None:
        """Raise the order's overdue alert, unless it is raised already.

        ``order``: ``order_id``, ``number``, ``order_version``, ``stage``, and
        the event's ``timestamp`` and ``meta``."""
        if OVERDUE not in self.raised:
            self.trigger_event(
                self.OverdueRaised, condition=OVERDUE, severity=severity, detail=detail, **order
            )

    def raise_transit_exception(
        self, order: dict[str, Any], shipment_id: str, status: str, severity: str
    ) -> None:
        """Raise a shipment's transit exception, unless it is raised already."""
        condition = transit_condition(shipment_id)
        if condition not in self.raised:
            self.trigger_event(
                self.TransitExceptionRaised, condition=condition, shipment_id=shipment_id,
                status=status, severity=severity, **order,
            )  # fmt: skip

    def clear(self, order: dict[str, Any], condition: str) -> None:
        """Record that a raised condition has ended (nothing if it is not raised)."""
        kind = self.raised.get(condition)
        if kind is not None:
            self.trigger_event(self.AlertCleared, condition=condition, kind=kind, **order)
