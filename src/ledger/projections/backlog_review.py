"""The backlog review in the read models: the fold steps of ``BacklogReviewed``
and ``BacklogDisposed`` (in ``facts.STEPS``), the backlog's review
columns, the review-due rule and the dispositions report.

A review is not activity on the order: it records the cause, and the
order's ``last_event_at`` (its quiet time, what makes it stale) stays where
the order's own progress left it. A decision (discount, resale, donation,
cancellation) is activity.

Each decision is kept on the facts as ``(action, at, units, value)``:
units and value are what it concerned — for a discount the open units of
the discounted lines and the amount the total went down by; for a resale or
a donation the units closed and their value; for a cancellation the open
units and their value — each value rounded per line as the order's amounts are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from ledger.aggregates.order import Order

T = TypeVar("T")
NOT_ACTIVITY: frozenset[type] = frozenset({Order.BacklogReviewed})
UNREVIEWED = "unreviewed"


def _changed(value: T, **changes: Any) -> T:
    """A changed copy of a frozen facts dataclass (as ``facts.replace``)."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__)
    new.__dict__.update(changes)
    return new


def reviewed(f: Any, e: Order.BacklogReviewed) -> Any:
    return _changed(f, backlog_cause=e.cause, last_review_at=e.timestamp.isoformat())


def disposed(f: Any, e: Order.BacklogDisposed) -> Any:
    currency, lines = f.currency, dict(f.lines)
    units, value = 0, Decimal(0)
    if e.action == "discount":
        before = f.total
        for sku, price in e.prices.items():
            units += lines[sku].open
            lines[sku] = _changed(lines[sku], unit_price=str(price))
        f = _changed(f, lines=lines)
        value = before - f.total
    elif e.action in ("resell", "donate"):
        for sku, quantity in e.lines.items():
            line = lines[sku]
            units += quantity
            value += line.value(quantity, currency)
            lines[sku] = _changed(line, short_closed=line.short_closed + quantity)
        f = _changed(f, lines=lines)
    else:
        units, value = f.open_quantity, f.open_value
    if e.action == "cancel" or e.closes:
        closed = {sku: _changed(line, allocated=0) for sku, line in f.lines.items()}
        f = _changed(f, status="cancelled", on_hold=False, lines=closed)
    decision = (e.action, e.timestamp.isoformat(), units, str(value))
    return _changed(f, dispositions=(*f.dispositions, decision))


def review_due(facts: Any, now: datetime, stale_days: int) -> bool:
    """Whether a stale order (no progress for ``stale_days``) awaits a review:
    it was never reviewed, or not within the last ``stale_days``."""
    quiet = (now - datetime.fromisoformat(facts.last_event_at)).days
    if quiet < stale_days:
        return False
    last = facts.last_review_at
    return last is None or datetime.fromisoformat(last) <= now - timedelta(days=stale_days)


# The review of an order never reviewed nor decided about, due or not: shared
# (a backlog page holds one item per order; these are never changed).
_NEVER = {
    due: {"cause": None, "last_review_at": None, "due": due, "disposition": None}
    for due in (False, True)
}


def review_of(facts: Any, now: datetime, stale_days: int) -> dict[str, Any]:
    """What a backlog entry shows of the review (its ``review``): the last
    review's cause and time, whether a review is due, the last decision."""
    due = review_due(facts, now, stale_days)
    if facts.last_review_at is None and not facts.dispositions:
        return _NEVER[due]
    last = facts.dispositions[-1] if facts.dispositions else None
    return {
        "cause": facts.backlog_cause or None,
        "last_review_at": facts.last_review_at,
        "due": due,
        "disposition": None
        if last is None
        else {"action": last[0], "at": last[1], "units": last[2], "value": last[3]},
    }


def row_disposed(row: T, e: Any) -> T:
    """A decision's effect on a read model's row with a ``status`` (and maybe a
    ``total``): cancelled when it ends the order; a discount's new total."""
    changes: dict[str, Any] = {}
    if e.action == "cancel" or e.closes:
        changes["status"] = "cancelled"
    if e.action == "discount" and "total" in row.__dict__:
        changes["total"] = str(e.total)
    return _changed(row, **changes) if changes else row


def disposition_report(view: Any, *, year: int | None = None) -> dict[str, Any]:
    """Backlog decisions per month, action and currency: how many orders,
    units and what value (``view``: the reports read model)."""
    tally: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in view.select([]):
        facts = row.facts
        for action, at, units, value in facts.dispositions:
            month = at[:7]
            if year is not None and not month.startswith(f"{year:04d}-"):
                continue
            figures = tally.setdefault(
                (month, action, facts.currency), {"orders": 0, "units": 0, "value": Decimal(0)}
            )
            figures["orders"] += 1
            figures["units"] += units
            figures["value"] += Decimal(value)
    items = [
        {"month": month, "action": action, "currency": currency, **figures,
         "value": str(figures["value"])}
        for (month, action, currency), figures in sorted(tally.items())
    ]  # fmt: skip
    return {"year": year, "items": items, "count": len(items)}
