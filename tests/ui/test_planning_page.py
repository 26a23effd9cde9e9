"""The planning page in a real browser, in English and Chinese, against
``ledger serve`` on the three-year demo: the series chart (history, last
year, forecast band, peaks) shows what ``GET /reports/seasonal`` says, and
the stock and transport tables what ``GET /reports/planning`` says."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_support import Server

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
LANGS = {"en-GB": ("Seasonal planning", "Forecast"), "zh-CN": ("季节性订单规划", "预测")}
METHODS = {
    "en-GB": {"holt_winters_additive": "Holt-Winters, additive seasons",
              "holt_winters_multiplicative": "Holt-Winters, multiplicative seasons",
              "seasonal_naive": "Same month last year", "recent_mean": "Recent average"},
    "zh-CN": {"holt_winters_additive": "Holt-Winters（加法季节）",
              "holt_winters_multiplicative": "Holt-Winters（乘法季节）",
              "seasonal_naive": "去年同月", "recent_mean": "近期平均"},
}  # fmt: skip


@pytest.fixture(scope="module")
def forecast_made(server: Server) -> str:
    """The server's start-up forecast job has stored its forecasts."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        made = server.get("/reports/seasonal", by="mode", limit="1")["computed_at"]
        if made:
            return str(made)
        time.sleep(0.5)
    pytest.fail("the forecast job did not run at start within 60 s")


def api_series(server: Server, by: str, series: str) -> dict[str, Any]:
    """The stored forecast of one series, as the page reads it (12 months ahead)."""
    report = server.get("/reports/seasonal", by=by, limit="200", history="24")
    return next(i for i in report["items"] if i["series"] == series)


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_chart_shows_history_last_year_the_forecast_band_and_its_peaks(
    open_page: Callable[..., Any], server: Server, forecast_made: str, shots: Path, locale: str
) -> None:
    title, forecast_word = LANGS[locale]
    top = server.get("/reports/seasonal", by="mode", limit="1")["items"][0]["series"]
    page = open_page(locale=locale)
    page.goto(f"/ui/planning?by=mode&series={top}&months=12")
    assert page.locator("h1").inner_text() == title
    chart = page.locator("svg[data-testid=forecast-chart]")
    for part in ("actual", "last-year", "forecast", "band"):
        assert chart.locator(f"[data-testid={part}]").count() == 1, part
    points = chart.locator("[data-testid=forecast]").get_attribute("points").split()
    (made,) = api_series(server, "mode", top)["forecasts"]
    assert len(points) == 1 + len(made["months"])  # joined to the last complete month
    peaks = [p for p in made["months"] if p["peak"]]
    assert chart.locator("[data-testid=peak]").count() == len(peaks) > 0
    method = METHODS[locale][made["method"]]
    assert page.locator("[data-testid=method]").inner_text().startswith(method)
    backtest = page.locator("[data-testid=backtest]").inner_text()
    if made["backtest"] is not None:
        assert f"{made['backtest']['smape']:.1f}" in backtest
    assert forecast_word in page.locator("#fc-cap").inner_text()
    name = "planning-desktop.png" if locale == "en-GB" else "planning-zh-desktop.png"
    page.screenshot(path=str(shots / name), full_page=True)


def test_the_picker_and_the_top_series_follow_the_report(
    page: Any, server: Server, forecast_made: str
) -> None:
    page.goto("/ui/planning?by=family")
    report = server.get("/reports/seasonal", by="family", limit="40")
    offered = page.eval_on_selector_all("#p-series option", "os => os.map(o => o.value)")
    assert offered == ["", *[i["series"] for i in report["items"]]]
    second = report["items"][1]["series"]
    page.click(f"table.top-series a[href*='series={second}']")
    page.wait_for_url(f"**series={second}**")
    assert page.locator("#p-series").input_value() == second
    assert page.locator("[data-testid=series-title]").inner_text().startswith(second)
    assert page.locator("table.top-series tr.is-current th").inner_text().startswith(second)
    page.goto("/ui/planning?by=mode&series=sea")
    assert page.locator("[data-testid=series-title]").inner_text().startswith("Sea")


def test_stock_and_transport_tables_match_the_planning_endpoint(
    page: Any, server: Server, forecast_made: str
) -> None:
    page.goto("/ui/planning?months=6")
    plan = server.get("/reports/planning", months="6", limit="12")
    shown = page.eval_on_selector_all(
        "table.stock tbody th code", "cs => cs.map(c => c.textContent)"
    )
    assert shown == [s["sku"] for s in plan["skus"]["items"]]
    cover = page.eval_on_selector_all(
        "table.stock tbody td:last-child", "cs => cs.map(c => c.textContent.replaceAll(',', ''))"
    )
    assert [float(c) for c in cover] == [round(s["to_cover"]) for s in plan["skus"]["items"]]
    modes = page.locator("table.transport tbody tr").count()
    assert modes == len(plan["transport"])
    bars = page.locator("svg[data-testid=transport-chart] rect").count()
    assert bars == 6 * len(plan["transport"])


def test_the_planning_page_fits_a_phone(
    open_page: Callable[..., Any], forecast_made: str, shots: Path
) -> None:
    phone = open_page(viewport=PHONE, device_scale_factor=2)
    phone.goto("/ui/planning")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the planning page overflows a phone: {width}px"
    phone.screenshot(path=str(shots / "planning-phone.png"))
