"""Stage lead times from the reports rows: median and p90 days from received
to each lifecycle stage, each stage's own step, and the bottleneck."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.aggregates.stages import STAGES, Stage
from ledger.projections.framework import Filter, View
from ledger.projections.rowkit import check_year

if TYPE_CHECKING:  # reports re-exports lead_times, so no import of it at run time
    from ledger.projections.reports import ReportRow


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (the
    median of an even count is the mean of the middle two)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3)


def stage_times(reached: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Per lifecycle stage reached: (days since received, days since the latest
    earlier stage reached before it — its own step)."""
    start = reached.get(Stage.RECEIVED)
    if start is None:
        return {}
    times: dict[str, datetime] = {
        s: datetime.fromisoformat(reached[s]) for s in STAGES if s in reached
    }
    result: dict[str, tuple[float, float]] = {}
    for i, stage in enumerate(STAGES[1:], start=1):
        if stage not in times:
            continue
        at = times[stage]
        previous = max(times[p] for p in STAGES[:i] if p in times and times[p] <= at)
        result[stage] = (_days(at - times[Stage.RECEIVED]), _days(at - previous))
    return result


def _days(delta: Any) -> float:
    return float(delta.total_seconds() / 86400)


def lead_times(
    view: View[ReportRow],
    *,
    year: int | None = None,
    customer: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Median and p90 days from received to each stage, and per stage its own
    step; the bottleneck is the stage with the largest median step."""
    check_year(year)
    filters: list[Filter] = [
        (column, "=", value)
        for column, value in (("customer", customer), ("channel", channel))
        if value is not None
    ]
    if year is not None:
        filters += [("month", ">=", f"{year:04d}-01"), ("month", "<=", f"{year:04d}-12")]
    rows = view.select(filters)
    totals: dict[str, list[float]] = {s: [] for s in STAGES[1:]}
    steps: dict[str, list[float]] = {s: [] for s in STAGES[1:]}
    for row in rows:
        for stage, (total, step) in stage_times(row.reached).items():
            totals[stage].append(total)
            steps[stage].append(step)
    items = [
        {
            "stage": stage,
            "orders": len(totals[stage]),
            "median_days": quantile(totals[stage], 0.5),
            "p90_days": quantile(totals[stage], 0.9),
            "median_step_days": quantile(steps[stage], 0.5),
            "p90_step_days": quantile(steps[stage], 0.9),
        }
        for stage in STAGES[1:]
    ]
    medians = {s: m for s in STAGES[1:] if (m := quantile(steps[s], 0.5)) is not None}
    slowest = max(medians, key=lambda s: medians[s], default=None)
    bottleneck = None if slowest is None else {
        "stage": slowest, "median_step_days": medians[slowest],
    }  # fmt: skip
    return {"items": items, "total": len(items), "orders": len(rows), "bottleneck": bottleneck,
            "year": year}  # fmt: skip
