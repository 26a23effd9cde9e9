"""The web pages in a real browser, against ``ledger serve`` on the demo data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_support import TOKEN, Server

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
PHONE = {"width": 390, "height": 844}


def shown_counts(page: Any) -> dict[str, int]:
    pairs = page.eval_on_selector_all(
        "section.column",
        "cols => cols.map(c => [c.dataset.stage, Number(c.querySelector('.count').dataset.count)])",
    )
    return dict(pairs)


def api_counts(server: Server, **params: str) -> dict[str, int]:
    board = server.get("/board", limit="1", **params)
    return {column["stage"]: column["count"] for column in board["columns"]}


def after_refresh(page: Any, act: Callable[[], None]) -> None:
    """Do ``act`` and wait until the board fragment has been swapped in."""
    before = page.eval_on_selector("#board", "b => Number(b.dataset.loads || 0)")
    act()
    page.wait_for_function(
        "before => Number(document.getElementById('board').dataset.loads || 0) > before",
        arg=before,
    )


def test_a_missing_token_is_asked_for_once_and_kept_in_a_strict_httponly_cookie(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(signed_in=False)
    page.goto("/ui/board")
    assert "/ui/login" in page.url
    page.fill("#token", "not-a-token")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").inner_text() == "That token is not known."
    page.fill("#token", TOKEN)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/ui/board")
    cookie = next(c for c in page.context.cookies() if c["name"] == "ledger_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto("/ui/backlog")
    assert page.url.endswith("/ui/backlog")
    assert httpx.get(f"{server.url}/ui/board/fragment").status_code == 401


def test_the_board_shows_the_same_counts_per_column_as_the_api(page: Any, server: Server) -> None:
    page.goto("/ui/board")
    assert shown_counts(page) == api_counts(server)
    total = page.eval_on_selector(".summary", "s => Number(s.dataset.total)")
    assert total == sum(api_counts(server).values())


def test_the_flag_and_customer_filters_narrow_the_board_like_the_api(
    page: Any, server: Server
) -> None:
    page.goto("/ui/board")
    after_refresh(page, lambda: page.select_option("#f-flag", "overdue"))
    assert shown_counts(page) == api_counts(server, flag="overdue")
    assert "flag=overdue" in page.url
    cards = page.locator("article.card")
    assert cards.count() == page.locator("article.card .flag-overdue").count() > 0

    customer = server.get("/board", limit="1")["columns"][0]["cards"][0]["customer"]
    after_refresh(page, lambda: page.select_option("#f-flag", ""))
    after_refresh(page, lambda: page.select_option("#f-customer", customer))
    assert shown_counts(page) == api_counts(server, customer=customer)
    assert set(page.locator("article.card .customer").all_inner_texts()) == {customer}


def test_the_product_filter_keeps_only_orders_with_that_product(page: Any, server: Server) -> None:
    page.goto("/ui/board")
    unfiltered = sum(shown_counts(page).values())
    sku = page.eval_on_selector("#f-product", "s => s.options[1].value")
    after_refresh(page, lambda: page.select_option("#f-product", sku))
    assert 0 < sum(shown_counts(page).values()) < unfiltered
    for href in page.locator("article.card h3 a").evaluate_all("as => as.map(a => a.href)")[:5]:
        order = server.get(f"/orders/{href.rsplit('/', 1)[1]}")
        assert sku in {line["sku"] for line in order["lines"]}


def test_the_as_of_picker_shows_the_board_as_it_was_then(page: Any, server: Server) -> None:
    page.goto("/ui/board")
    live = shown_counts(page)
    after_refresh(page, lambda: page.fill("#f-as-of", AS_OF))
    then = api_counts(server, as_of=f"{AS_OF}T23:59:59.999999Z")
    assert shown_counts(page) == then != live
    assert AS_OF in page.locator("#board-status").inner_text()
    page.reload()  # the URL keeps the moment
    assert shown_counts(page) == then


def test_the_order_page_shows_every_event_of_the_history_and_any_version(
    page: Any, server: Server
) -> None:
    settled = next(c for c in server.get("/board")["columns"] if c["stage"] == "settled")
    order_id = settled["cards"][0]["order_id"]
    history = server.get(f"/orders/{order_id}/history")
    page.goto(f"/ui/orders/{order_id}")
    events = page.locator("ol.timeline > li.event")
    assert events.count() == len(history) > 10
    assert events.evaluate_all("es => es.map(e => e.dataset.type)") == [e["type"] for e in history]
    assert page.locator("[data-testid=chain]").inner_text().strip() != ""

    page.goto(f"/ui/orders/{order_id}?version=3")
    assert page.locator("li.event.future").count() == len(history) - 3
    assert page.locator("li.event[aria-current=step]").get_attribute("data-version") == "3"
    state = server.get(f"/orders/{order_id}", version="3")
    assert page.locator(".page-head .stage-pill").get_attribute("class").endswith(state["stage"])


def test_the_language_toggle_switches_the_labels_and_is_remembered(page: Any) -> None:
    page.goto("/ui/board")
    assert page.locator("h1").inner_text() == "Progress board"
    page.click("[data-testid=lang-toggle]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "进度看板"
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("#h-received").inner_text().startswith("已接收")
    page.goto("/ui/backlog")
    assert page.locator("h1").inner_text() == "积压订单"
    page.click("[data-testid=lang-toggle]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Backlog"


def test_the_language_defaults_to_the_browsers(open_page: Callable[..., Any]) -> None:
    page = open_page(locale="zh-CN")
    page.goto("/ui/reports")
    assert page.locator("h1").inner_text() == "数据报告"


def test_backlog_and_reports_draw_their_charts(page: Any, server: Server) -> None:
    page.goto("/ui/backlog")
    assert page.locator("svg[data-testid=ageing-chart] rect").count() == 8
    backlog = server.get("/backlog", limit="1")
    assert page.locator("table.backlog tbody tr").count() == min(backlog["total"], 500)
    page.goto("/ui/reports")
    assert page.locator("svg[data-testid=orders-chart] rect").count() == 24
    assert page.locator("svg[data-testid=sales-chart] rect").count() == 24
    assert page.locator("table.lead tbody tr").count() == 9
    assert page.locator("tr.is-bottleneck").count() == 1


def test_pages_fit_a_phone_and_start_with_a_skip_link(
    open_page: Callable[..., Any], server: Server, shots: Path
) -> None:
    desktop, phone = open_page(), open_page(viewport=PHONE, device_scale_factor=2)
    order_id = server.get("/board")["columns"][6]["cards"][0]["order_id"]
    pages = {
        "board": "/ui/board", "order": f"/ui/orders/{order_id}",
        "backlog": "/ui/backlog", "reports": "/ui/reports", "new-order": "/ui/orders/new",
    }  # fmt: skip
    for name, path in pages.items():
        desktop.goto(path)
        desktop.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=name != "board")
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} overflows a phone: {width}px"
        phone.screenshot(path=str(shots / f"{name}-phone.png"))
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip"
    chinese = open_page(locale="zh-CN")
    chinese.goto("/ui/board")
    chinese.screenshot(path=str(shots / "board-zh-desktop.png"))
    login = open_page(signed_in=False)
    login.goto("/ui/login")
    login.screenshot(path=str(shots / "login-desktop.png"))


def test_the_order_page_shows_unit_prices_to_4_decimals_and_amounts_in_minor_units(
    page: Any, server: Server
) -> None:
    lines = [
        {"sku": "M-1", "name": "螺絲", "quantity": 3, "unit_price": "1.2345"},
        {"sku": "M-2", "name": "墊片", "quantity": 4000, "unit_price": "2"},
    ]
    shown: dict[str, list[list[str]]] = {}
    for currency in ("CNY", "JPY"):
        body = {
            "channel": "email",
            "customer": {"name": "精密五金"},
            "lines": lines,
            "currency": currency,
            "delivery": {"address": "寧波市北侖區", "consignee": "陳工"},
        }
        created = server.api.post("/orders", json=body)
        assert created.status_code == 201, created.text
        page.goto(f"/ui/orders/{created.json()['id']}")
        rows = page.locator("#h-lines + .table-wrap tbody tr")
        shown[currency] = [
            [rows.nth(i).locator("td").nth(n).inner_text() for n in (3, 4)]
            for i in range(rows.count())
        ]
        total = page.locator("dl.facts div", has_text="Total").locator("dd").inner_text()
        shown[currency].append([total])
    assert shown["CNY"] == [["1.2345", "3.70"], ["2.0000", "8,000.00"], ["8,003.70 CNY"]]
    assert shown["JPY"] == [["1.2345", "4"], ["2.0000", "8,000"], ["8,004 JPY"]]
    page.goto("/ui/backlog")
    picker = page.locator("#b-as-of")
    assert (picker.get_attribute("min"), picker.get_attribute("max")) == (
        "2000-01-01",
        "2099-12-31",
    )
