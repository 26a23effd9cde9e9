"""The backlog: open orders past their promised date, or quiet for too long.

Rows hold the dates (original and latest promise, last event); whether an
order is overdue or stale, by how many days and in which ageing bucket is
worked out at query time from the caller's ``now``, so the backlog ages
without any event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.aggregates.stages import FINISHED
from ledger.projections.facts import STEPS, OrderFacts
from ledger.projections.framework import Column, View
from ledger.projections.order_rows import FactsModel, Page

BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), (">90", 91, None))


class BacklogModel(FactsModel):
    """A row per order that is still open (not settled, archived or closed)."""

    name = "backlog"
    checkpointed = True
    # Every event the facts follow, the unchanging ones too: any activity
    # on the order makes it not quiet (``last_event_at``).
    topics = STEPS.topics()
    columns = (
        Column("number", "text", lambda f: f.number),
        Column("customer", "text", lambda f: f.customer),
        Column("open_quantity", "int", lambda f: f.open_quantity),
        Column("latest_promise", "text", lambda f: f.latest_promise),
        Column("last_event_at", "text", lambda f: f.last_event_at),
    )

    def keep(self, facts: OrderFacts) -> bool:
        return facts.status not in FINISHED


BACKLOG = BacklogModel()


def bucket(days: int | None) -> str | None:
    """The ageing bucket of ``days`` late (None when not late)."""
    if days is None or days < 0:
        return None
    for label, _low, high in BUCKETS:
        if high is None or days <= high:
            return label
    return None


def days_late(promise: str | None, open_quantity: int, today: date) -> int | None:
    """Days past the promise while goods are still to ship, else None."""
    if promise is None or open_quantity <= 0:
        return None
    late = (today - date.fromisoformat(promise)).days
    return late if late > 0 else None


def backlog_item(facts: OrderFacts, now: datetime, stale_days: int) -> dict[str, Any] | None:
    """The order's backlog entry, or None when it is neither overdue nor stale."""
    today = now.date()
    late_original = days_late(facts.original_promise, facts.open_quantity, today)
    late_latest = days_late(facts.latest_promise, facts.open_quantity, today)
    quiet = (now - datetime.fromisoformat(facts.last_event_at)).days
    stale = quiet >= stale_days
    if late_original is None and late_latest is None and not stale:
        return None
    return {
        "order_id": facts.order_id,
        "number": facts.number,
        "customer": facts.customer,
        "stage": facts.stage,
        "currency": facts.currency,
        "open_quantity": facts.open_quantity,
        "open_value": str(facts.open_value),
        "original_promised_date": facts.original_promise,
        "latest_promised_date": facts.latest_promise,
        "days_late_original": late_original,
        "days_late_latest": late_latest,
        "ageing_original": bucket(late_original),
        "ageing_latest": bucket(late_latest),
        "overdue_original": late_original is not None,
        "overdue_latest": late_latest is not None,
        "stale": stale,
        "days_since_last_event": quiet,
        "last_event_at": facts.last_event_at,
        "lines": [
            {
                "sku": sku,
                "name": line.name,
                "open_quantity": line.open,
                "open_value": str(line.value(line.open, facts.currency)),
            }
            for sku, line in sorted(facts.lines.items())
            if line.open > 0
        ],
    }


def backlog_report(
    view: View[OrderFacts],
    *,
    now: datetime,
    stale_days: int,
    customer: str | None = None,
    product: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Overdue and stale orders (most late first), with ageing buckets against
    both promises and totals by customer and by product over all matches."""
    page = Page(limit, offset)
    rows = view.select([("customer", "=", customer)] if customer is not None else [])
    items = [item for row in rows if (item := backlog_item(row, now, stale_days)) is not None]
    if product is not None:
        items = [i for i in items if any(ln["sku"] == product for ln in i["lines"])]
    items.sort(
        key=lambda i: (-(i["days_late_latest"] or 0), -i["days_since_last_event"], i["number"])
    )
    report = page.envelope(page.slice(items), len(items))
    report["summary"] = summarise(items)
    report["as_of"] = now.isoformat()
    return report


def summarise(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts and open quantities per bucket, per customer and per product."""
    items = list(items)
    buckets: dict[str, dict[str, dict[str, Any]]] = {
        basis: {label: _zero() for label, _, _ in BUCKETS} for basis in ("original", "latest")
    }
    customers: dict[str, dict[str, Any]] = {}
    products: dict[str, dict[str, Any]] = {}
    for item in items:
        for basis in ("original", "latest"):
            label = item[f"ageing_{basis}"]
            if label is not None:
                _count(
                    buckets[basis][label],
                    item["currency"],
                    item["open_quantity"],
                    item["open_value"],
                )
        _count(
            customers.setdefault(item["customer"], _zero()),
            item["currency"],
            item["open_quantity"],
            item["open_value"],
        )
        for line in item["lines"]:
            _count(
                products.setdefault(line["sku"], _zero()),
                item["currency"],
                line["open_quantity"],
                line["open_value"],
            )
    return {
        "orders": len(items),
        "overdue_original": sum(1 for i in items if i["overdue_original"]),
        "overdue_latest": sum(1 for i in items if i["overdue_latest"]),
        "stale": sum(1 for i in items if i["stale"]),
        "ageing": buckets,
        "by_customer": dict(sorted(customers.items())),
        "by_product": dict(sorted(products.items())),
    }


def _zero() -> dict[str, Any]:
    return {"orders": 0, "open_quantity": 0, "open_value": {}}


def _count(total: dict[str, Any], currency: str, quantity: int, value: str) -> None:
    total["orders"] += 1
    total["open_quantity"] += quantity
    values: dict[str, str] = total["open_value"]
    values[currency] = str(Decimal(values.get(currency, "0")) + Decimal(value))
