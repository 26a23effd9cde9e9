"""The reports page's data from the reports read model (``sales_report``, ``lead_times``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from ledger.api.ui.charts import Chart, Series, as_float, grouped_bars
from ledger.api.ui.i18n import Translate
from ledger.projections.framework import View
from ledger.projections.reports import lead_times, sales_report
from ledger.worker import Worker

TOP = 10


def reports_view(worker: Worker) -> View[Any] | None:
    return worker.views.get("reports")


def years_and_currencies(view: View[Any]) -> tuple[list[int], list[str]]:
    """Years with orders (newest first) and currencies by amount (largest first)."""
    items = sales_report(view, group_by="month", limit=500)["items"]
    years = sorted({int(i["month"][:4]) for i in items}, reverse=True)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        amounts[item["currency"]] += Decimal(item["amount"])
    return years, sorted(amounts, key=lambda c: (-amounts[c], c))


def monthly(view: View[Any], year: int, currency: str, t: Translate) -> dict[str, Chart]:
    """Orders (every currency) and sales (one currency) per month, beside last year."""
    items = sales_report(view, group_by="month", year=year, limit=500)["items"]
    orders, orders_before = [0.0] * 12, [0.0] * 12
    sales, sales_before = [0.0] * 12, [0.0] * 12
    for item in items:
        m = int(item["month"][5:7]) - 1
        orders[m] += item["orders"]
        orders_before[m] += item["last_year"]["orders"]
        if item["currency"] == currency:
            sales[m] = as_float(item["amount"])
            sales_before[m] = as_float(item["last_year"]["amount"])
    months = [t(f"month.{m}") for m in range(1, 13)]
    prev, this = str(year - 1), str(year)
    return {
        "orders": grouped_bars(
            months, [Series(prev, orders_before, "s2"), Series(this, orders, "s1")], counts=True
        ),
        "sales": grouped_bars(
            months, [Series(prev, sales_before, "s2"), Series(this, sales, "s1")]
        ),
    }


def top_groups(view: View[Any], group_by: str, year: int, currency: str) -> list[dict[str, Any]]:
    """The largest customers or products of the year by amount, with a share for bars."""
    items = sales_report(view, group_by=group_by, year=year, currency=currency, limit=500)["items"]
    items.sort(key=lambda i: (-Decimal(i["amount"]), i[group_by]))
    top = items[:TOP]
    names = product_names(view) if group_by == "product" else {}
    for item in top:
        key = item[group_by]
        item["label"] = f"{names[key]} · {key}" if key in names else key
    biggest = max((Decimal(i["amount"]) for i in top), default=Decimal(1)) or Decimal(1)
    return [{**i, "name": i["label"], "share": float(Decimal(i["amount"]) / biggest)} for i in top]


def lead_time_rows(view: View[Any], year: int) -> dict[str, Any]:
    """Median and p90 days to each stage, scaled for bars, and the bottleneck."""
    report = lead_times(view, year=year)
    longest = max((i["p90_days"] or 0 for i in report["items"]), default=0) or 1
    for item in report["items"]:
        item["median_share"] = (item["median_days"] or 0) / longest
        item["p90_share"] = (item["p90_days"] or 0) / longest
    return report


def product_names(view: View[Any]) -> dict[str, str]:
    return {sku: line.name for row in view.select() for sku, line in row.facts.lines.items()}
