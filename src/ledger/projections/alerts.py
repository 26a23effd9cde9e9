"""Alerts: what a merchandiser must act on now, found by a periodic scan.

The scan reads the backlog (orders past their promise, orders with no event
for ``stale_days``, stale orders not reviewed within ``stale_days``) and the
board (shipments with a transit exception) as of a moment and replaces the
alert table with what it finds. An alert that
was already there keeps the time it was first raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ledger.projections.backlog import backlog_item
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import Column, View
from ledger.projections.order_rows import Page
from ledger.projections.side_tables import RecordsModel, Row, text, update

KINDS = ("overdue", "stale", "review_due", "transit_exception")
SEVERITIES = ("low", "medium", "high")

ALERTS = RecordsModel(
    "alerts",
    (
        text("kind"),
        text("severity"),
        text("order_id"),
        text("number"),
        text("customer"),
        text("raised_at"),
        Column("rank", "int", lambda row: -SEVERITIES.index(row["severity"])),
    ),
)


def _alert(kind: str, severity: str, facts: OrderFacts, detail: dict[str, Any]) -> Row:
    return {
        "key": f"{kind}:{facts.order_id}",
        "kind": kind,
        "severity": severity,
        "order_id": facts.order_id,
        "number": facts.number,
        "customer": facts.customer,
        "stage": facts.stage,
        "version": facts.version,
        "detail": detail,
    }


def _overdue_severity(days: int) -> str:
    return "low" if days <= 7 else "medium" if days <= 30 else "high"


def find_alerts(
    backlog: Iterable[OrderFacts], board: Iterable[OrderFacts], now: datetime, stale_days: int
) -> dict[str, Row]:
    """Every alert due at ``now`` (without ``raised_at``), by key."""
    found: list[Row] = []
    for facts in backlog:
        item = backlog_item(facts, now, stale_days)
        if item is None:
            continue
        late = item["days_late_latest"] or item["days_late_original"]
        if late is not None:
            detail = {k: item[k] for k in ("days_late_original", "days_late_latest")}
            detail["open_quantity"] = item["open_quantity"]
            found.append(_alert("overdue", _overdue_severity(late), facts, detail))
        if item["stale"]:
            quiet = {"days_since_last_event": item["days_since_last_event"]}
            found.append(_alert("stale", "low", facts, quiet))
        review = item["review"]
        if review["due"]:  # stale, and not reviewed within stale_days (backlog_review)
            detail = {
                "days_since_last_event": item["days_since_last_event"],
                "last_review_at": review["last_review_at"],
                "cause": review["cause"],
            }
            found.append(_alert("review_due", "medium", facts, detail))
    for facts in board:
        if facts.transit_exception:
            shipments = sorted(s for s, f in facts.shipments.items() if f.has_exception)
            detail = {"shipments": {s: facts.shipments[s].transit for s in shipments}}
            found.append(_alert("transit_exception", "high", facts, detail))
    return {row["key"]: row for row in found}


def scan_alerts(
    alerts: View[Row],
    backlog: View[OrderFacts],
    board: View[OrderFacts],
    *,
    now: datetime,
    stale_days: int,
) -> int:
    """Replace the alert table by the alerts due at ``now``; returns how many."""
    exceptions = board.select([("transit_exception", "=", 1)])
    due = find_alerts(backlog.select(), exceptions, now, stale_days)

    def change(current: dict[str, Row]) -> dict[str, Row | None]:
        stamp = now.isoformat()
        fresh: dict[str, Row | None] = {key: None for key in current if key not in due}
        for key, row in due.items():
            fresh[key] = {**row, "raised_at": current.get(key, {}).get("raised_at", stamp)}
        return fresh

    update(alerts, change)
    return len(due)


def list_alerts(
    alerts: View[Row],
    *,
    kind: str | None = None,
    severity: str | None = None,
    customer: str | None = None,
    order_ids: Iterable[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of alerts, most severe and oldest first."""
    page = Page(limit, offset)
    filters: list[Any] = []
    for column, value, allowed in (("kind", kind, KINDS), ("severity", severity, SEVERITIES)):
        if value is not None:
            if value not in allowed:
                raise ValueError(f"unknown {column} {value!r}; one of {', '.join(allowed)}")
            filters.append((column, "=", value))
    if customer is not None:
        filters.append(("customer", "=", customer))
    if order_ids is not None:
        filters.append(("order_id", "in", list(order_ids)))
    rows = alerts.select(
        filters, order_by=("rank", "raised_at"), limit=page.limit, offset=page.offset
    )
    return page.envelope(rows, alerts.count(filters))
