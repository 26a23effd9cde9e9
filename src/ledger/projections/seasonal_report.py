"""The seasonal report: each series' monthly history beside last year, and
its forecast for the coming months.

Forecasts of every series are made by a daily job (``run_forecasts``, the
worker's ``forecast`` schedule) and kept in a table of their own; the report
reads them. A request for one series (``series=``) forecasts it there and
then from the current history instead. The heavy maths never runs in a
request for all series.

Each series is forecast in three measures: orders, quantity, and amount
per currency. The forecast's first month is the current one (still partial,
so it is forecast, not fitted); a stored forecast made on an earlier day
starts where it started then.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.aggregates.values import round_money
from ledger.projections.forecast_store import computed_at, stored_forecasts
from ledger.projections.framework import View
from ledger.projections.order_rows import Page
from ledger.projections.rowkit import choice
from ledger.projections.seasonal import DemandRow
from ledger.projections.seasonal_series import (
    DIMENSIONS,
    MAX_MONTHS,
    MEASURES,
    Series,
    SeriesSource,
    demand_rows,
    history,
    month_of,
    month_span,
    shift,
    tally,
    values,
)
from ledger.projections.side_tables import Row, replace_all

if TYPE_CHECKING:
    from ledger.projections.forecast import Forecast

HORIZON = 24  # months a stored forecast covers; a report shows up to this many
DEFAULT_MEASURE = {
    "product": "quantity", "family": "orders", "customer": "amount", "mode": "orders",
}  # fmt: skip


# -- forecasting a series --------------------------------------------------------------


def forecast_series(
    series: Series, current: str, measures: tuple[str, ...] = MEASURES, horizon: int = HORIZON
) -> list[dict[str, Any]]:
    """The series' forecasts in ``measures`` (amount: per currency), from the
    current month on, fitted to its complete months."""
    from ledger.projections.forecast import forecast  # numpy: loaded only to forecast

    first = max(series.first_month, shift(current, -MAX_MONTHS))
    complete = month_span(first, shift(current, -1))
    out = []
    for measure, currency in _measures(series, measures):
        made = forecast(values(series, measure, complete, currency), horizon)
        out.append(_plain(made, measure, currency, current))
    return out


def _measures(series: Series, measures: tuple[str, ...]) -> list[tuple[str, str]]:
    chosen = [(m, "") for m in measures if m != "amount"]
    if "amount" in measures:
        chosen += [("amount", cur) for cur in series.currencies]
    return chosen


def _plain(made: Forecast, measure: str, currency: str, first: str) -> dict[str, Any]:
    points = [
        {"month": shift(first, i), "value": v, "lower": lo, "upper": hi, "peak": peak}
        for i, (v, lo, hi, peak) in enumerate(
            zip(made.values, made.lower, made.upper, made.peaks, strict=True)
        )
    ]
    return {
        "measure": measure,
        "currency": currency or None,
        "method": made.method,
        "reason": made.reason,
        "backtest": asdict(made.backtest) if made.backtest is not None else None,
        "peak_threshold": made.threshold,
        "months": points,
    }


def run_forecasts(forecasts: View[Row], seasonal: View[DemandRow], now: datetime) -> dict[str, Any]:
    """Forecast every series of every dimension and replace the stored
    forecasts with them; returns what was done (series, methods, seconds)."""
    started = time.perf_counter()
    current = month_of(now.date())
    rows = demand_rows(seasonal, "product", since=shift(current, -MAX_MONTHS))
    stored: dict[str, Row] = {}
    methods: Counter[str] = Counter()
    for by in DIMENSIONS:
        for key, series in tally(rows, by).items():
            made = forecast_series(series, current)
            methods.update(f["method"] for f in made)
            stored[f"{by}:{key}"] = {
                "key": f"{by}:{key}", "by": by, "series": key, "label": series.label,
                "computed_at": now.isoformat(), "forecasts": made,
            }  # fmt: skip
    replace_all(forecasts, stored)
    seconds = round(time.perf_counter() - started, 3)
    return {"series": len(stored), "methods": dict(methods), "seconds": seconds}


# -- the report ------------------------------------------------------------------------


def seasonal_report(
    source: SeriesSource,
    forecasts: View[Row],
    *,
    by: str,
    today: datetime,
    months: int = 12,
    measure: str | None = None,
    series: str | None = None,
    currency: str | None = None,
    history_months: int = 36,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Per series: history beside last year, and the forecast of ``measure``
    for ``months`` months (stored, or made now for the one ``series``).

    ``LookupError`` when ``series`` names none; ``ValueError`` for bad input."""
    choice("dimension", by, DIMENSIONS)
    chosen = measure or DEFAULT_MEASURE[by]
    choice("measure", chosen, MEASURES)
    current = month_of(today.date())
    found = source.series(by, series)
    if series is not None and series not in found:
        raise LookupError(f"no {by} {series!r} has any orders")
    ordered = sorted(found.values(), key=lambda s: (-s.total(chosen), s.key))
    paging = Page(limit, offset)
    page = paging.slice(ordered)
    shown = month_span(shift(current, 1 - history_months), current)
    stored = {} if series is not None else stored_forecasts(forecasts, by, [s.key for s in page])
    items = []
    for s in page:
        made = forecast_series(s, current, (chosen,)) if series is not None else stored.get(s.key)
        item = _item(s, [m for m in shown if m >= s.first_month], current)
        item["forecasts"] = _chosen(made, chosen, currency, months)
        item["forecast_source"] = "on_demand" if series is not None else _source(made)
        items.append(item)
    return {
        **paging.envelope(items, len(ordered)), "by": by, "measure": chosen,
        "months": months, "current_month": current,
        "computed_at": _when(forecasts, by) if series is None else today.isoformat(),
    }  # fmt: skip


def _item(series: Series, months: list[str], current: str) -> dict[str, Any]:
    return {
        "series": series.key,
        "label": series.label,
        "first_month": series.first_month,
        "currencies": series.currencies,
        "history": history(series, months, current),
    }


def _when(forecasts: View[Row], by: str) -> str | None:
    made = computed_at(forecasts, by)
    return made.isoformat() if made is not None else None


def _source(made: list[dict[str, Any]] | None) -> str:
    return "daily_job" if made is not None else "pending"


def _chosen(
    made: list[dict[str, Any]] | None, measure: str, currency: str | None, months: int
) -> list[dict[str, Any]]:
    """The forecasts of ``measure`` (and ``currency``), cut to ``months``."""
    out = []
    for f in made or []:
        if f["measure"] != measure or (currency is not None and f["currency"] != currency):
            continue
        points = f["months"][:months]
        if measure == "amount":
            points = [_money(p, f["currency"]) for p in points]
        out.append({**f, "months": points})
    return out


def _money(point: dict[str, Any], currency: str) -> dict[str, Any]:
    """An amount forecast as decimal text in the currency's minor unit, like every amount."""
    keys = ("value", "lower", "upper")
    shown = {k: str(round_money(Decimal(str(point[k])), currency)) for k in keys}
    return {**point, **shown}
