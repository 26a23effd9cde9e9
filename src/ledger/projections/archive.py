"""The audit archive index: archived orders by period (month archived),
number and customer.

An order's number, customer and total come from events long before it is
archived, so every order has a row; the index shows only archived ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ledger.aggregates.order import Order
from ledger.aggregates.stages import Status
from ledger.aggregates.values import lines_total
from ledger.projections.facts import replace
from ledger.projections.framework import Column, Filter, View
from ledger.projections.order_rows import Page, flag
from ledger.projections.rowkit import StepModel, status_events, with_status
from ledger.projections.steps import Steps

_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class ArchiveRow:
    order_id: str
    number: str
    customer: str
    currency: str
    version: int
    total: str
    status: str = Status.RECEIVED
    closed_as: str = ""  # settled or cancelled, when archived
    archive_ref: str = ""
    archived_at: str | None = None

    @property
    def period(self) -> str | None:
        return None if self.archived_at is None else self.archived_at[:7]


def _total(lines: Any, currency: str) -> str:
    return str(lines_total(lines, currency))


STEPS: Steps[ArchiveRow] = (
    Steps[ArchiveRow]()
    .on_each(status_events(Order.OrderArchived), with_status)
    .on(
        Order.OrderAmended,
        lambda r, e: r if e.lines is None else replace(r, total=_total(e.lines, r.currency)),
    )
    .on(
        Order.OrderArchived,
        lambda r, e: replace(
            r,
            status=Status.ARCHIVED,
            closed_as=r.status,
            archive_ref=e.archive_ref,
            archived_at=e.timestamp.isoformat(),
        ),
    )
)


class ArchiveModel(StepModel[ArchiveRow]):
    """A row per order ever received; archived ones have a period."""

    name = "archive"
    steps = STEPS
    topics = STEPS.topics()
    columns = (
        Column("number", "text", lambda r: r.number),
        Column("customer", "text", lambda r: r.customer),
        Column("archived", "int", lambda r: flag(r.archived_at is not None)),
        Column("period", "text", lambda r: r.period),
    )

    def received(self, e: Any) -> ArchiveRow:
        return ArchiveRow(
            str(e.originator_id),
            e.number,
            e.customer.name,
            e.currency,
            e.originator_version,
            _total(e.lines, e.currency),
        )

    def from_plain(self, raw: dict[str, Any]) -> ArchiveRow:
        return ArchiveRow(**raw)


ARCHIVE = ArchiveModel()


def archive_entry(row: ArchiveRow) -> dict[str, Any]:
    return {
        "order_id": row.order_id,
        "number": row.number,
        "customer": row.customer,
        "period": row.period,
        "archive_ref": row.archive_ref,
        "closed_as": row.closed_as,
        "currency": row.currency,
        "total": row.total,
        "archived_at": row.archived_at,
    }


def archive_index(
    view: View[ArchiveRow],
    *,
    period: str | None = None,
    number: str | None = None,
    customer: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Archived orders by period then number; ``period`` is a month
    (YYYY-MM) or a whole year (YYYY)."""
    filters: list[Filter] = [("archived", "=", 1)]
    if period is not None:
        if not _PERIOD.match(period):
            raise ValueError(f"period must be YYYY-MM or YYYY, not {period!r}")
        if len(period) == 4:
            filters += [("period", ">=", f"{period}-01"), ("period", "<=", f"{period}-12")]
        else:
            filters.append(("period", "=", period))
    if number is not None:
        filters.append(("number", "=", number))
    if customer is not None:
        filters.append(("customer", "=", customer))
    page = Page(limit, offset)
    rows = view.select(filters, order_by=("period", "number"), limit=limit, offset=offset)
    return page.envelope([archive_entry(row) for row in rows], view.count(filters))
