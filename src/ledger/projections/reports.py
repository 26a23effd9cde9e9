"""Reports: orders and sales by month, customer, product and channel, and
stage lead times (in ``lead_times``, from the same rows; re-exported here).

A row is the order's facts plus when it first reached each stage, noted
after every event exactly as the aggregate's ``_note_stage`` does. Sales
count an order in the month it was received, at its total in its own
currency (currencies are never added together); cancelled orders are only
counted as cancelled, and split or merged orders not at all — their goods
live on in the orders that replaced them, which count themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.aggregates.order import Order
from ledger.aggregates.stages import REPLACED, Stage, Status
from ledger.projections.facts import STEPS, OrderFacts, fold_facts, load_facts, plain_facts
from ledger.projections.framework import Column, Filter, ReadModel, View
from ledger.projections.lead_times import lead_times as lead_times
from ledger.projections.lead_times import quantile as quantile
from ledger.projections.rowkit import check_year, choice, page_of

GROUPINGS = ("month", "customer", "product", "channel")
# Events that change neither stage, lines nor status; a stage is noted on the
# event that reaches it, so skipping these notes the same times.
_IGNORED = (
    *STEPS.unchanged,
    Order.DeliveryDatePromised,
    Order.ShipmentRescheduled,
    Order.QualityIssueRaised,
    Order.QualityIssueResolved,
    Order.TransitUpdated,
    Order.PaymentReceived,
    Order.ComplaintFiled,
    Order.ComplaintResolved,
)


@dataclass(frozen=True)
class ReportRow:
    """An order's facts and the time (ISO) each stage was first reached."""

    facts: OrderFacts
    reached: dict[str, str]

    @property
    def order_id(self) -> str:
        return self.facts.order_id

    @property
    def month(self) -> str:
        return self.facts.created_at[:7]


def note_stage(reached: dict[str, str], facts: OrderFacts, at: str) -> dict[str, str]:
    """``Order._note_stage``: full delivery counts even when the stage jumps
    straight to invoiced. Returns ``reached`` itself when nothing is new."""
    stage = facts.stage
    new: list[str] = [] if stage in reached else [stage]
    if Stage.DELIVERED not in reached and facts.fully_delivered:  # cheap once noted
        new.insert(0, Stage.DELIVERED)
    if not new:
        return reached
    return {**reached, **dict.fromkeys(new, at)}


class ReportsModel(ReadModel[ReportRow]):
    """A row per order ever received."""

    name = "reports"
    topics = STEPS.topics(without=_IGNORED)
    columns = (
        Column("number", "text", lambda r: r.facts.number),
        Column("customer", "text", lambda r: r.facts.customer),
        Column("channel", "text", lambda r: r.facts.channel),
        Column("currency", "text", lambda r: r.facts.currency),
        Column("month", "text", lambda r: r.month),
        Column("status", "text", lambda r: r.facts.status),
    )

    def evolve(self, row: ReportRow | None, event: Any) -> ReportRow | None:
        before = row.facts if row is not None else None
        facts = fold_facts(before, event)
        if facts is None or facts is before:
            return row  # not an order yet, or already folded
        reached = note_stage(row.reached if row else {}, facts, facts.last_event_at)
        return ReportRow(facts, reached)

    def dump(self, row: ReportRow) -> str:
        plain = {"facts": plain_facts(row.facts), "reached": row.reached}
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))

    def load(self, data: str) -> ReportRow:
        raw = json.loads(data)
        return ReportRow(load_facts(raw["facts"]), raw["reached"])


REPORTS = ReportsModel()


# -- sales -------------------------------------------------------------------------


def report_filters(
    customer: str | None, channel: str | None, currency: str | None, months: tuple[str, str] | None
) -> list[Filter]:
    filters: list[Filter] = []
    for column, value in (("customer", customer), ("channel", channel), ("currency", currency)):
        if value is not None:
            filters.append((column, "=", value))
    if months is not None:
        filters += [("month", ">=", months[0]), ("month", "<=", months[1])]
    return filters


def _contributions(
    facts: OrderFacts, group_by: str, product: str | None
) -> Iterator[tuple[str, int, Decimal]]:
    """(group key, quantity, amount) that the order adds to the report."""
    if group_by == "product":
        for sku, line in facts.lines.items():
            if product is None or sku == product:
                yield sku, line.quantity, line.value(line.quantity, facts.currency)
        return
    key = {"month": facts.created_at[:7], "customer": facts.customer, "channel": facts.channel}
    yield key[group_by], sum(ln.quantity for ln in facts.lines.values()), facts.total


def _tally(rows: list[ReportRow], group_by: str, product: str | None) -> dict[tuple[str, str], Any]:
    tally: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        f = row.facts
        if f.status in REPLACED or (product is not None and product not in f.lines):
            continue
        for key, quantity, amount in _contributions(f, group_by, product):
            figures = tally.setdefault((key, f.currency), _zero())
            if f.status == Status.CANCELLED:
                figures["cancelled"] += 1
            else:
                figures["orders"] += 1
                figures["quantity"] += quantity
                figures["amount"] += amount
    return tally


def _zero() -> dict[str, Any]:
    return {"orders": 0, "quantity": 0, "amount": Decimal(0), "cancelled": 0}


def _shown(figures: dict[str, Any]) -> dict[str, Any]:
    return {**figures, "amount": str(figures["amount"])}


def last_year(month: str) -> str:
    """The same month a year earlier ("2026-03" -> "2025-03")."""
    return f"{int(month[:4]) - 1:04d}{month[4:]}"


def sales_report(
    view: View[ReportRow],
    *,
    group_by: str,
    year: int | None = None,
    customer: str | None = None,
    channel: str | None = None,
    product: str | None = None,
    currency: str | None = None,
    today: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Orders, quantity and amount per group and currency (received in ``year``
    if given); by month each item has the same month last year beside it, and
    with ``today`` the report compares this month with that month last year."""
    choice("grouping", group_by, GROUPINGS)
    check_year(year)
    back = 1 if group_by == "month" else 0  # by month, last year's figures too
    months = None if year is None else (f"{year - back:04d}-01", f"{year:04d}-12")
    rows = view.select(report_filters(customer, channel, currency, months))
    tally = _tally(rows, group_by, product)
    items = []
    for (key, cur), figures in sorted(tally.items()):
        if year is not None and group_by == "month" and not key.startswith(f"{year:04d}-"):
            continue
        item = {group_by: key, "currency": cur, **_shown(figures)}
        if group_by == "month":
            before = tally.get((last_year(key), cur), _zero())
            item["last_year"] = {"month": last_year(key), **_shown(before)}
        items.append(item)
    extra: dict[str, Any] = {"group_by": group_by, "year": year, "totals": _totals(items)}
    if today is not None:
        extra["this_month"] = month_comparison(
            view, month=today.strftime("%Y-%m"), customer=customer, channel=channel,
            product=product, currency=currency,
        )  # fmt: skip
    return page_of(items, limit, offset, **extra)


def _totals(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Amount and quantity per currency over every item (not only this page)."""
    totals: dict[str, dict[str, Any]] = {}
    for item in items:
        total = totals.setdefault(item["currency"], {"quantity": 0, "amount": "0"})
        total["quantity"] += item["quantity"]
        total["amount"] = str(Decimal(total["amount"]) + Decimal(item["amount"]))
    return totals


def month_comparison(
    view: View[ReportRow],
    *,
    month: str,
    customer: str | None = None,
    channel: str | None = None,
    product: str | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """One month beside the same month last year, per currency."""
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, not {month!r}") from None
    before = last_year(month)
    filters = [*report_filters(customer, channel, currency, None), ("month", "in", (month, before))]
    tally = _tally(view.select(filters), "month", product)
    currencies = sorted({cur for _, cur in tally})
    return {
        "month": month,
        "last_year_month": before,
        "current": {c: _shown(tally.get((month, c), _zero())) for c in currencies},
        "last_year": {c: _shown(tally.get((before, c), _zero())) for c in currencies},
    }
