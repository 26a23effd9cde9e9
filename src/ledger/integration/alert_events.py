"""Alerts as events: each condition the alert scan finds (an order overdue, a
shipment in a transit exception) is recorded once on the order's alert
stream when it starts, and once when it ends.

How an alert gets its feed position: it is an event in the same log as the
orders' (``ledger.aggregates.alerts``), written by the scan, so its position
is its notification id, after every event the scan judged on.

The scan's alert table is replaced at every scan; a side table
(``alert_conditions``) remembers the conditions recorded raised. It is
written before the events (marking what is about to be raised or cleared)
and after them (settling), so a scan stopped between the two is finished by
the next one; a raise or clear already recorded is then a no-op, and two
writers of one stream cannot both win (its version is checked on save).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ledger.aggregates.alerts import (
    OVERDUE,
    TRANSIT_EXCEPTION,
    OrderAlerts,
    alerts_id,
    transit_condition,
)
from ledger.projections.framework import View
from ledger.projections.side_tables import RecordsModel, Row, text, update

CONDITIONS = RecordsModel("alert_conditions", (text("state"), text("order_id")))
RAISING, RAISED, CLEARING = "raising", "raised", "clearing"
ACTOR = "system:alerts"
SAVE_ATTEMPTS = 5


def conditions_of(alerts: Iterable[Row]) -> dict[str, Row]:
    """The conditions of the scan's alert rows (stale orders are not on the feed)."""
    found: dict[str, Row] = {}
    for alert in alerts:
        about = {k: alert.get(k) for k in ("order_id", "number", "version", "stage", "severity")}
        if alert["kind"] == OVERDUE:
            found[f"{alert['order_id']}/{OVERDUE}"] = {
                **about, "kind": OVERDUE, "condition": OVERDUE, "detail": alert["detail"],
            }  # fmt: skip
        elif alert["kind"] == TRANSIT_EXCEPTION:
            for shipment, status in alert["detail"]["shipments"].items():
                condition = transit_condition(shipment)
                found[f"{alert['order_id']}/{condition}"] = {
                    **about, "kind": TRANSIT_EXCEPTION, "condition": condition,
                    "shipment_id": shipment, "status": status,
                }  # fmt: skip
    return {key: {**row, "key": key} for key, row in found.items()}


class AlertEvents:
    """Records the alert conditions' starts and ends on the orders' alert streams."""

    def __init__(self, app: Any, view: View[Row]) -> None:
        self.app = app
        self.view = view

    def record(self, alerts: Iterable[Row], orders: View[Any]) -> int:
        """Record what started and ended since the last scan, given the alert
        rows due now and a read model of the orders (their stage and version
        for an alert that ended); returns how many events were recorded."""
        pending = self._mark(conditions_of(alerts))
        if not pending:
            return 0
        facts = orders.rows({row["order_id"] for row in pending.values()})
        by_order: dict[str, list[Row]] = defaultdict(list)
        for row in pending.values():
            by_order[row["order_id"]].append(row)
        meta = {"actor": ACTOR, "correlation_id": f"alert-scan-{uuid.uuid4()}", "causation_id": ""}
        recorded = sum(self._save(rows, facts.get(order), meta) for order, rows in by_order.items())
        self._settle(pending)
        return recorded

    def _mark(self, due: dict[str, Row]) -> dict[str, Row]:
        """Mark conditions to raise and to clear; returns every one not settled.
        Writes nothing when nothing changed (most scans)."""
        pending: dict[str, Row] = {}

        def change(current: dict[str, Row]) -> dict[str, Row | None]:
            changes: dict[str, Row | None] = {}
            for key, row in due.items():
                if current.get(key, {}).get("state") in (None, CLEARING):
                    changes[key] = {**row, "state": RAISING}
            for key, row in current.items():
                if key not in due and row["state"] != CLEARING:
                    changes[key] = {**row, "state": CLEARING}
            merged = {**current, **changes}
            pending.clear()
            pending.update({k: r for k, r in merged.items() if r and r["state"] != RAISED})
            return changes

        if change({str(row["key"]): row for row in self.view.select()}):
            update(self.view, change)
        return pending

    def _settle(self, pending: dict[str, Row]) -> None:
        def change(current: dict[str, Row]) -> dict[str, Row | None]:
            settled: dict[str, Row | None] = {}
            for key, row in pending.items():
                if current.get(key, {}).get("state") == row["state"]:
                    settled[key] = {**row, "state": RAISED} if row["state"] == RAISING else None
            return settled

        update(self.view, change)

    def _save(self, rows: list[Row], facts: Any, meta: dict[str, Any]) -> int:
        """Raise and clear on one order's stream; the number of events recorded."""
        order_id = rows[0]["order_id"]
        for _ in range(SAVE_ATTEMPTS):
            stream = self._stream(order_id)
            for row in rows:
                about = self._about(row, facts, meta)
                if row["state"] == CLEARING:
                    stream.clear(about, row["condition"])
                elif row["kind"] == OVERDUE:
                    stream.raise_overdue(about, row["severity"], row["detail"])
                else:
                    stream.raise_transit_exception(
                        about, row["shipment_id"], row["status"], row["severity"]
                    )
            events = len(stream.pending_events)
            if not events:
                return 0
            try:
                self.app.save(stream)
                return events
            except IntegrityError:  # another scan wrote this stream: read it again
                continue
        raise RuntimeError(f"the alert stream of {order_id} kept changing")

    def _stream(self, order_id: str) -> OrderAlerts:
        stream_id = alerts_id(order_id)
        try:
            stream: OrderAlerts = self.app.repository.get(stream_id)
            return stream
        except AggregateNotFoundError:
            return OrderAlerts.opened(stream_id, self.app.clock.now())

    def _about(self, row: Row, facts: Any, meta: dict[str, Any]) -> dict[str, Any]:
        """The order as the event records it: as scanned, or (for a clear) as it is now."""
        now_known = row["state"] == CLEARING and facts is not None
        return {
            "order_id": row["order_id"],
            "number": row["number"],
            "order_version": facts.version if now_known else row["version"],
            "stage": facts.stage if now_known else row["stage"],
            "timestamp": self.app.clock.now(),
            "meta": meta,
        }
