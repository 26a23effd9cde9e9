"""A series' months as geometry for a server-rendered SVG line chart: the
history, the same months a year earlier, the forecast with its 80 % band,
and the peak months marked (no chart library, like ``charts``).

The current month is still partial: the chart draws it as forecast, not as
history, so the line does not dip at its end; the data table beside the
chart gives the figure so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.api.ui.charts import nice_max, short
from ledger.projections.seasonal_series import shift

WIDTH, HEIGHT = 900, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LineChart:
    """Polylines as SVG ``points`` text, the band as a polygon, axis labels,
    peak markers, and the numbers for an accessible table."""

    width: int
    height: int
    history: str
    last_year: str
    forecast: str
    band: str
    peaks: list[Marker]
    ticks: list[tuple[float, str]]
    labels: list[tuple[float, str, bool]]  # (x, month, starts a year: kept on a phone)
    split_x: float | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def months_of(
    item: dict[str, Any], forecast: dict[str, Any] | None, measure: str, currency: str | None
) -> list[dict[str, Any]]:
    """One row per month: actual (complete months), so far (the current one),
    last year, forecast, its band, peak."""
    rows: dict[str, dict[str, Any]] = {}
    for h in item["history"]:
        value = _measure(h, measure, currency)
        row = _row(h["month"])
        row["actual" if not h["partial"] else "so_far"] = value
        row["last_year"] = _measure(h["last_year"], measure, currency) if h["last_year"] else None
        rows[h["month"]] = row
    for p in (forecast or {}).get("months", []):
        row = rows.setdefault(p["month"], _row(p["month"]))
        row.update(forecast=_num(p["value"]), lower=_num(p["lower"]), upper=_num(p["upper"]))
        row["peak"] = p["peak"]
        if row["last_year"] is None:  # the months ahead beside the same months last year
            before = rows.get(shift(p["month"], -12))
            if before is not None:
                row["last_year"] = (
                    before["actual"] if before["actual"] is not None else before["so_far"]
                )
    return [rows[month] for month in sorted(rows)]


def _row(month: str) -> dict[str, Any]:
    return {"month": month, "actual": None, "so_far": None, "last_year": None, "forecast": None,
            "lower": None, "upper": None, "peak": False}  # fmt: skip


def _measure(figures: dict[str, Any], measure: str, currency: str | None) -> float:
    if measure == "amount":
        return float(figures["amount"].get(currency or "", 0))
    return float(figures[measure])


def line_chart(rows: list[dict[str, Any]], month_label: Any) -> LineChart:
    """The chart of ``rows`` (from ``months_of``); ``month_label("2026-10")`` names a month."""
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    peak = max((v for r in rows for k in ("actual", "last_year", "upper") if (v := r.get(k))),
               default=0.0)  # fmt: skip
    scale = nice_max(peak)
    step = (right - left) / max(len(rows) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return bottom - (bottom - top) * v / scale

    def line(key: str) -> str:
        return " ".join(f"{x(i):.1f},{y(r[key]):.1f}" for i, r in enumerate(rows)
                        if r.get(key) is not None)  # fmt: skip

    ahead = [i for i, r in enumerate(rows) if r.get("forecast") is not None]
    band = [f"{x(i):.1f},{y(rows[i]['upper']):.1f}" for i in ahead]
    band += [f"{x(i):.1f},{y(rows[i]['lower']):.1f}" for i in reversed(ahead)]
    peaks = [Marker(x(i), y(rows[i]["forecast"]), month_label(rows[i]["month"]))
             for i in ahead if rows[i].get("peak")]  # fmt: skip
    every = max(1, round(len(rows) / 12))
    return LineChart(
        WIDTH, HEIGHT, line("actual"), line("last_year"), _joined(rows, line("forecast"), x, y),
        " ".join(band), peaks,
        [(y(scale * k / 4), short(scale * k / 4)) for k in range(5)],
        [(x(i), month_label(r["month"]), r["month"].endswith("-01"))
         for i, r in enumerate(rows) if i % every == 0],
        x(ahead[0]) if ahead else None, rows,
    )  # fmt: skip


def _joined(rows: list[dict[str, Any]], forecast: str, x: Any, y: Any) -> str:
    """The forecast line, starting from the last complete month so the two meet."""
    last = max((i for i, r in enumerate(rows) if r.get("actual") is not None), default=None)
    if last is None or not forecast:
        return forecast
    return f"{x(last):.1f},{y(rows[last]['actual']):.1f} {forecast}"
