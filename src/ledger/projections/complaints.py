"""The register of complaints and quality issues.

A row per order holds its complaints and quality issues as entries (the
entry events carry no order number or customer, so the row starts at
``OrderReceived``); the register query flattens the entries of the orders
that have any, filters them and pages them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.aggregates.order import Order
from ledger.aggregates.values import SEVERITIES
from ledger.projections.facts import replace
from ledger.projections.framework import Column, Filter, View
from ledger.projections.lead_times import quantile
from ledger.projections.rowkit import StepModel, add_money, choice, days_between, page_of
from ledger.projections.steps import Steps

KINDS = ("complaint", "quality")
STATUSES = ("open", "resolved")


@dataclass(frozen=True)
class Entry:
    """A complaint (no severity, no cost) or a quality issue."""

    kind: str
    ref: str
    category: str
    description: str
    severity: str | None
    filed_at: str
    status: str = "open"
    resolution: str = ""
    cost: str | None = None
    resolved_at: str | None = None


@dataclass(frozen=True)
class ComplaintsRow:
    """An order's complaints and quality issues, keyed "<kind>/<id>"."""

    order_id: str
    number: str
    customer: str
    currency: str
    version: int
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def open_entries(self) -> int:
        return sum(1 for e in self.entries.values() if e.status == "open")


def _filed(row: ComplaintsRow, kind: str, ref: str, e: Any, severity: str | None) -> ComplaintsRow:
    entry = Entry(kind, ref, e.category, e.description, severity, e.timestamp.isoformat())
    return replace(row, entries={**row.entries, f"{kind}/{ref}": entry})


def _resolved(row: ComplaintsRow, key: str, e: Any, cost: str | None) -> ComplaintsRow:
    entry = replace(
        row.entries[key],
        status="resolved",
        resolution=e.resolution,
        cost=cost,
        resolved_at=e.timestamp.isoformat(),
    )
    return replace(row, entries={**row.entries, key: entry})


STEPS: Steps[ComplaintsRow] = (
    Steps[ComplaintsRow]()
    .on(Order.ComplaintFiled, lambda r, e: _filed(r, "complaint", e.complaint_id, e, None))
    .on(
        Order.ComplaintResolved,
        lambda r, e: _resolved(r, f"complaint/{e.complaint_id}", e, None),
    )
    .on(Order.QualityIssueRaised, lambda r, e: _filed(r, "quality", e.issue_id, e, e.severity))
    .on(
        Order.QualityIssueResolved,
        lambda r, e: _resolved(r, f"quality/{e.issue_id}", e, str(e.amount)),
    )
)


class ComplaintsModel(StepModel[ComplaintsRow]):
    """A row per order; the register shows the orders with entries."""

    name = "complaints"
    steps = STEPS
    topics = STEPS.topics()
    columns = (
        Column("number", "text", lambda r: r.number),
        Column("customer", "text", lambda r: r.customer),
        Column("entries", "int", lambda r: len(r.entries)),
        Column("open_entries", "int", lambda r: r.open_entries),
    )

    def received(self, e: Any) -> ComplaintsRow:
        return ComplaintsRow(
            str(e.originator_id), e.number, e.customer.name, e.currency, e.originator_version
        )

    def from_plain(self, raw: dict[str, Any]) -> ComplaintsRow:
        entries = {k: Entry(**v) for k, v in raw.pop("entries").items()}
        return ComplaintsRow(**raw, entries=entries)


COMPLAINTS = ComplaintsModel()


def register_entry(row: ComplaintsRow, entry: Entry) -> dict[str, Any]:
    resolved = entry.resolved_at
    return {
        "id": entry.ref,
        "kind": entry.kind,
        "order_id": row.order_id,
        "number": row.number,
        "customer": row.customer,
        "severity": entry.severity,
        "category": entry.category,
        "description": entry.description,
        "status": entry.status,
        "resolution": entry.resolution,
        "cost": entry.cost,
        "currency": row.currency,
        "filed_at": entry.filed_at,
        "resolved_at": resolved,
        "days_to_resolve": None if resolved is None else days_between(entry.filed_at, resolved),
    }


def complaint_register(
    view: View[ComplaintsRow],
    *,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    customer: str | None = None,
    number: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Complaints and quality issues, newest first, filtered by status
    (open/resolved), kind (complaint/quality), severity, customer, order
    number; with counts, cost per currency and resolution times of all matches."""
    choice("status", status, STATUSES)
    choice("kind", kind, KINDS)
    choice("severity", severity, SEVERITIES)
    filters: list[Filter] = [("open_entries" if status == "open" else "entries", ">", 0)]
    if customer is not None:
        filters.append(("customer", "=", customer))
    if number is not None:
        filters.append(("number", "=", number))
    items = [
        register_entry(row, entry)
        for row in view.select(filters)
        for entry in row.entries.values()
        if (status is None or entry.status == status)
        and (kind is None or entry.kind == kind)
        and (severity is None or entry.severity == severity)
    ]
    items.sort(key=lambda i: (i["filed_at"], i["number"], i["kind"], i["id"]), reverse=True)
    return page_of(items, limit, offset, summary=summarise(items))


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    cost: dict[str, str] = {}
    for item in items:
        if item["cost"] is not None:
            add_money(cost, item["currency"], Decimal(item["cost"]))
    times = [i["days_to_resolve"] for i in items if i["days_to_resolve"] is not None]
    return {
        "open": sum(1 for i in items if i["status"] == "open"),
        "resolved": sum(1 for i in items if i["status"] == "resolved"),
        "cost": cost,
        "median_days_to_resolve": quantile(times, 0.5),
    }
