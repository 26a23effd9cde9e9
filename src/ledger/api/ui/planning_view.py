"""The planning page's data, read through the same functions as
``GET /reports/seasonal`` and ``GET /reports/planning``: one series' chart
(history, last year, forecast band, peaks), the forecasts of the largest
series, stock to cover per SKU and shipments per transport mode."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.api.routes.seasonal import seasonal_memory
from ledger.api.ui.charts import Chart, Series, grouped_bars
from ledger.api.ui.forecast_chart import LineChart, line_chart, months_of
from ledger.api.ui.i18n import Translate
from ledger.projections.planning import sku_plan, transport_plan
from ledger.projections.seasonal_report import seasonal_report
from ledger.projections.seasonal_series import DIMENSIONS
from ledger.worker import Worker

CHOICES = 40  # series offered in the picker, largest first
TOP_SERIES = 10
TOP_SKUS = 12
HISTORY = 24
MONTHS = (6, 12, 18, 24)
MODES = ("road", "sea", "air", "rail", "express")


@dataclass(frozen=True)
class PlanningQuery:
    by: str = "family"
    series: str | None = None
    months: int = 12

    @classmethod
    def of(cls, by: str, series: str, months: int) -> PlanningQuery:
        """Unknown choices fall back to the defaults rather than to an error page."""
        return cls(
            by if by in DIMENSIONS else "family",
            series.strip() or None,
            months if months in MONTHS else 12,
        )


def month_label(t: Translate) -> Any:
    def label(month: str) -> str:
        return t("planning.month_year", month=t(f"month.{int(month[5:])}"), year=month[:4])

    return label


def planning_data(worker: Worker, query: PlanningQuery, t: Translate) -> dict[str, Any]:
    now = worker.now()
    memory, forecasts = seasonal_memory(worker), worker.forecasts
    report = seasonal_report(memory, forecasts, by=query.by, today=now, months=query.months,
                             history_months=HISTORY, limit=CHOICES)  # fmt: skip
    items = report["items"]
    chosen = _chosen(worker, query, items)
    skus = sku_plan(worker.views["board"], forecasts, today=now.date(), months=query.months)
    views = worker.views
    transport = transport_plan(
        shipments=views["shipments"], board=views["board"], seasonal=memory.current(),
        forecasts=forecasts, reports=views["reports"], today=now, months=query.months,
    )  # fmt: skip
    label = month_label(t)
    for mode in transport["modes"]:
        mode["peak_months"] = [label(m["month"]) for m in mode["months"] if m["peak"]]
    return {
        "query": query, "dimensions": DIMENSIONS, "month_choices": MONTHS,
        "choices": [(i["series"], display_name(i, query.by, t)) for i in items],
        "measure": report["measure"], "computed_at": report["computed_at"],
        "chosen": chosen and _series_view(chosen, query.by, report["measure"], t),
        "top": [_summary(i, query.by, t) for i in items[:TOP_SERIES]],
        "skus": skus[:TOP_SKUS], "sku_total": len(skus),
        "transport": transport, "transport_chart": _transport_chart(transport, t),
    }  # fmt: skip


def display_name(item: dict[str, Any], by: str, t: Translate) -> str:
    """A series as a planner reads it: "LED 面板灯 · LGT-PL-6060", a family's
    code with its products, a customer's name, a transport mode's label."""
    key, label = item["series"], item["label"]
    if by == "mode":
        return t(f"mode.{key}")
    return label if label == key or label.startswith(f"{key} ") else f"{label} · {key}"


def _chosen(worker: Worker, query: PlanningQuery, items: list[dict[str, Any]]) -> Any:
    """The series asked for (else the largest), with a forecast made now when
    the daily job has none for it yet (one series: cheap enough)."""
    wanted = query.series or (items[0]["series"] if items else None)
    found = next((i for i in items if i["series"] == wanted), None)
    if wanted is None or (found is not None and found["forecasts"]):
        return found
    try:
        report = seasonal_report(seasonal_memory(worker), worker.forecasts, by=query.by,
                                 today=worker.now(), months=query.months, series=wanted,
                                 history_months=HISTORY)  # fmt: skip
    except LookupError:
        return items[0] if items else None
    return report["items"][0]


def _main_forecast(item: dict[str, Any]) -> dict[str, Any] | None:
    """The forecast to draw: for amounts, the currency with the most history."""
    forecasts: list[dict[str, Any]] = item["forecasts"]
    if len(forecasts) <= 1:
        return forecasts[0] if forecasts else None

    def total(f: dict[str, Any]) -> Decimal:
        return sum((Decimal(h["amount"].get(f["currency"], 0)) for h in item["history"]),
                   Decimal(0))  # fmt: skip

    return max(forecasts, key=total)


def _series_view(item: dict[str, Any], by: str, measure: str, t: Translate) -> dict[str, Any]:
    forecast = _main_forecast(item)
    currency = forecast["currency"] if forecast else None
    rows = months_of(item, forecast, measure, currency)
    chart: LineChart = line_chart(rows, month_label(t))
    name = display_name(item, by, t)
    return {"item": item, "name": name, "forecast": forecast, "currency": currency, "chart": chart}


def _summary(item: dict[str, Any], by: str, t: Translate) -> dict[str, Any]:
    forecast = _main_forecast(item)
    label = month_label(t)
    peaks = [label(p["month"]) for p in forecast["months"] if p["peak"]] if forecast else []
    return {"series": item["series"], "name": display_name(item, by, t), "forecast": forecast,
            "peaks": peaks, "source": item["forecast_source"]}  # fmt: skip


def _transport_chart(transport: dict[str, Any], t: Translate) -> tuple[Chart, str] | None:
    """Shipments per month and mode as grouped bars, and the months they span."""
    modes = transport["modes"]
    if not modes:
        return None
    months = [m["month"] for m in modes[0]["months"]]
    full = month_label(t)
    series = [
        Series(t(f"mode.{m['mode']}"), [float(p["total"]) for p in m["months"]],
               f"m-{m['mode'] if m['mode'] in MODES else 'other'}")
        for m in modes
    ]  # fmt: skip
    chart = grouped_bars([t(f"month.{int(m[5:])}") for m in months], series, counts=True)
    return chart, f"{full(months[0])} – {full(months[-1])}"
