"""Planning from the stored forecasts, for the coming months.

**Per SKU**: the quantity its forecast expects, beside what live orders
already ask for and have not shipped (``open``) and the stock allocated to
them; ``to_cover`` = open − allocated + expected is what production or
purchasing still has to find for the period.

**Per transport mode**: the shipments to expect each month, so transport
can be booked early: those already scheduled and not dispatched (in their
planned month; overdue ones in the current month), live orders with goods
still to ship and nothing scheduled (in the month of their latest promise,
else of their requested date, else the usual lead time after now), and
orders not received yet (the mode's forecast of orders, moved on by the
median days from receipt to first dispatch over the last twelve months).
An order counts as one shipment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ledger.aggregates.stages import WITHDRAWN
from ledger.projections.facts import OrderFacts
from ledger.projections.forecast_store import stored_forecasts
from ledger.projections.framework import View
from ledger.projections.lead_times import quantile, stage_times
from ledger.projections.reports import ReportRow
from ledger.projections.seasonal import DemandRow, family_of
from ledger.projections.seasonal_series import month_of, shift
from ledger.projections.shipments import ShipmentsRow
from ledger.projections.side_tables import Row

DAYS_PER_MONTH = 30.44
WAITING = ("planned", "packed")


def horizon(today: date, months: int) -> list[str]:
    current = month_of(today)
    return [shift(current, i) for i in range(months)]


def _points(made: list[dict[str, Any]] | None, measure: str, months: list[str]) -> dict[str, Any]:
    """The forecast points of ``measure`` for ``months``, by month."""
    for f in made or []:
        if f["measure"] == measure:
            return {p["month"]: p for p in f["months"] if p["month"] in months}
    return {}


# -- per SKU -------------------------------------------------------------------------


def sku_plan(
    board: View[OrderFacts], forecasts: View[Row], *, today: date, months: int
) -> list[dict[str, Any]]:
    """Per SKU: expected quantity per month, open quantity, allocated, to cover."""
    span = horizon(today, months)
    open_lines = _open_lines(board.select())
    skus = sorted(set(open_lines) | set(_forecast_keys(forecasts, "product")))
    made = stored_forecasts(forecasts, "product", skus)
    items = []
    for sku in skus:
        points = _points(made.get(sku), "quantity", span)
        name, open_qty, allocated = open_lines.get(sku, ("", 0, 0))
        expected = [_point(points.get(month), month) for month in span]
        total = round(sum(p["value"] for p in expected), 2)
        items.append({
            "sku": sku, "name": name or _label(forecasts, sku), "family": family_of(sku),
            "open": open_qty, "allocated": allocated, "unallocated": max(open_qty - allocated, 0),
            "expected": expected, "expected_total": total,
            "to_cover": round(max(open_qty - allocated, 0) + total, 2),
            "forecast": points != {},
        })  # fmt: skip
    items.sort(key=lambda i: (-i["to_cover"], i["sku"]))
    return items


def _open_lines(rows: Iterable[OrderFacts]) -> dict[str, tuple[str, int, int]]:
    """Per SKU over the live orders: name, quantity still to ship, allocated."""
    out: dict[str, tuple[str, int, int]] = {}
    for facts in rows:
        if facts.status in WITHDRAWN:
            continue
        for sku, line in facts.lines.items():
            _, open_qty, allocated = out.get(sku, (line.name, 0, 0))
            out[sku] = (line.name, open_qty + max(line.open, 0), allocated + line.allocated)
    return out


def _forecast_keys(forecasts: View[Row], by: str) -> list[str]:
    return [str(row["series"]) for row in forecasts.select([("by", "=", by)])]


def _label(forecasts: View[Row], sku: str) -> str:
    rows = forecasts.select([("by", "=", "product"), ("series", "=", sku)], limit=1)
    return str(rows[0].get("label", "")) if rows else ""


def _point(point: dict[str, Any] | None, month: str) -> dict[str, Any]:
    if point is None:
        return {"month": month, "value": 0.0, "lower": 0.0, "upper": 0.0, "peak": False}
    return {key: point[key] for key in ("month", "value", "lower", "upper", "peak")}


# -- per transport mode -------------------------------------------------------------------


_LEADS: dict[tuple[int, str, date], int] = {}


def lead_months(reports: View[ReportRow], today: date) -> int:
    """The median months from receipt to first dispatch, over orders received
    in the last twelve months (one when none has shipped); worked out once a
    day per process, since it reads a year of report rows and moves slowly."""
    key = (id(reports), reports.table, today)
    if key not in _LEADS:
        if len(_LEADS) > 16:
            _LEADS.clear()
        _LEADS[key] = _lead_months(reports, today)
    return _LEADS[key]


def _lead_months(reports: View[ReportRow], today: date) -> int:
    since = shift(month_of(today), -12)
    days = [
        times["shipped"][0]
        for row in reports.select([("month", ">=", since)])
        if "shipped" in (times := stage_times(row.reached))
    ]
    median = quantile(days, 0.5)
    return 1 if median is None else round(median / DAYS_PER_MONTH)


def transport_plan(
    *,
    shipments: View[ShipmentsRow],
    board: View[OrderFacts],
    seasonal: View[DemandRow],
    forecasts: View[Row],
    reports: View[ReportRow],
    today: datetime,
    months: int,
) -> dict[str, Any]:
    """Per transport mode and month: shipments scheduled, orders awaiting a
    schedule, orders still to come, and their total."""
    day = today.date()
    span = horizon(day, months)
    lag = lead_months(reports, day)
    counts: dict[tuple[str, str], dict[str, float]] = {}

    def add(mode: str, month: str, part: str, amount: float) -> None:
        month = max(month, span[0])
        if month in span:
            tally = counts.setdefault((mode, month), {"planned": 0, "awaiting": 0, "expected": 0.0})
            tally[part] += amount

    live = board.select()
    _scheduled(live, shipments, add)
    _awaiting(live, seasonal, day, lag, add)
    peaks = _expected(seasonal, forecasts, span, lag, add)
    modes = sorted({mode for mode, _ in counts} | set(peaks))
    return {"lead_months": lag, "modes": [_mode_row(m, span, counts, peaks) for m in modes]}


def _scheduled(live: list[OrderFacts], shipments: View[ShipmentsRow], add: Any) -> None:
    """Shipments of live orders scheduled and not dispatched, in their planned
    month (the shipments view knows their mode; only those orders are read)."""
    waiting = [f.order_id for f in live if any(s.status in WAITING for s in f.shipments.values())]
    for row in shipments.rows(waiting).values():
        for shipment in row.shipments.values():
            if shipment.status in WAITING:
                add(shipment.mode, shipment.planned_date[:7], "planned", 1)


def _awaiting(
    rows: list[OrderFacts], seasonal: View[DemandRow], today: date, lag: int, add: Any
) -> None:
    waiting = [f for f in rows if f.open_quantity > 0 and not f.shipments]
    modes = seasonal.rows([f.order_id for f in waiting])
    for facts in waiting:
        row = modes.get(facts.order_id)
        if row is None:
            continue
        due = facts.latest_promise or facts.requested_date
        add(row.mode, due[:7] if due else shift(month_of(today), lag), "awaiting", 1)


def _expected(
    seasonal: View[DemandRow], forecasts: View[Row], span: list[str], lag: int, add: Any
) -> dict[str, dict[str, bool]]:
    """Orders still to come per mode, shipped ``lag`` months after they
    arrive; the current month's forecast less the orders received so far."""
    modes = _forecast_keys(forecasts, "mode")
    made = stored_forecasts(forecasts, "mode", modes)
    received = _received_this_month(seasonal, span[0])
    peaks: dict[str, dict[str, bool]] = {}
    for mode in modes:
        points = _points(made.get(mode), "orders", [shift(m, -lag) for m in span])
        for month in span:
            point = points.get(shift(month, -lag))
            if point is None:
                continue
            value = float(point["value"])
            if point["month"] == span[0]:
                value = max(0.0, value - received.get(mode, 0))
            add(mode, month, "expected", round(value, 2))
            peaks.setdefault(mode, {})[month] = bool(point["peak"])
    return peaks


def _received_this_month(seasonal: View[DemandRow], month: str) -> dict[str, int]:
    counted: dict[str, int] = {}
    for row in seasonal.select([("month", "=", month), ("status", "=", "open")]):
        counted[row.mode] = counted.get(row.mode, 0) + 1
    return counted


def _mode_row(
    mode: str,
    span: list[str],
    counts: dict[tuple[str, str], dict[str, float]],
    peaks: dict[str, dict[str, bool]],
) -> dict[str, Any]:
    months: list[dict[str, Any]] = []
    for month in span:
        tally = counts.get((mode, month), {"planned": 0, "awaiting": 0, "expected": 0.0})
        total = round(tally["planned"] + tally["awaiting"] + tally["expected"], 2)
        peak = peaks.get(mode, {}).get(month, False)
        months.append({"month": month, **tally, "total": total, "peak": peak})
    return {"mode": mode, "months": months, "total": round(sum(m["total"] for m in months), 2)}
