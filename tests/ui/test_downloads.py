"""The pages' download buttons in a real browser, against ``ledger serve`` on the
demo data: each file holds what the API lists under the page's filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from ui_support import Server

pytestmark = pytest.mark.slow


def download(page: Any, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as event:
        page.click(selector)
    done = event.value
    return done.suggested_filename, Path(done.path()).read_bytes()


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_boards_csv_button_downloads_every_card_under_the_pages_filter(
    page: Any, server: Server
) -> None:
    page.goto("/ui/board?flag=overdue")
    name, body = download(page, ".downloads a[data-format=csv]")
    assert name.startswith("board-") and name.endswith(".csv")
    rows = csv_rows(body)
    board = server.get("/board", flag="overdue", limit="500")
    numbers = [card["number"] for column in board["columns"] for card in column["cards"]]
    assert [row[1] for row in rows[1:]] == numbers and numbers
    assert rows[0][1] == "Order number"


def test_the_backlogs_excel_button_follows_the_customer_filter(page: Any, server: Server) -> None:
    customer = server.get("/backlog", limit="1")["items"][0]["customer"]
    page.goto("/ui/backlog")
    page.select_option("#b-customer", customer)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**customer=**")
    name, body = download(page, ".downloads a[data-format=xlsx]")
    assert name.startswith("backlog-") and name.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    expected = server.get("/backlog", customer=customer, limit="500")
    assert [r[0] for r in rows[1:]] == [i["number"] for i in expected["items"]]
    assert {r[1] for r in rows[1:]} == {customer}


def test_the_reports_buttons_download_sales_and_lead_times_in_chinese(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh"})
    page.goto("/ui/reports")
    year = page.eval_on_selector("#r-year", "s => s.value")
    name, body = download(page, ".downloads a[href*='group_by=customer'][data-format=csv]")
    assert name.startswith("sales-customer-")
    rows = csv_rows(body)
    assert rows[0][:3] == ["客户", "币种", "订单数"]
    currency = page.eval_on_selector("#r-cur", "s => s.value")
    expected = server.get("/reports/sales", group_by="customer", year=year, currency=currency)
    assert len(rows) - 1 == expected["total"] > 0
    _, lead = download(page, ".downloads a[href*='lead-times'][data-format=xlsx]")
    sheet = openpyxl.load_workbook(io.BytesIO(lead)).worksheets[0]
    assert sheet.cell(1, 1).value == "阶段" and sheet.max_row == 10  # nine stages after received


def test_the_order_page_prints_a_dispatch_note_and_the_customers_statement(
    page: Any, server: Server
) -> None:
    shipped = server.get("/shipments", status="delivered", limit="1")["items"][0]
    page.goto(f"/ui/orders/{shipped['number']}")
    name, body = download(page, f"a[href$='/shipments/{shipped['shipment_id']}/dispatch-note.pdf']")
    assert name == f"dispatch-note-{shipped['number']}-{shipped['shipment_id']}.pdf"
    assert body.startswith(b"%PDF-")
    name, body = download(page, "a[href$='/statement.pdf']")
    assert name.startswith("statement-") and body.startswith(b"%PDF-")


def test_the_boards_template_button_gives_its_orders_in_the_import_templates_layout(
    page: Any, server: Server
) -> None:
    board = server.get("/board", stage="in_production", limit="500")
    cards = [card for column in board["columns"] for card in column["cards"]]
    customer = cards[0]["customer"]
    page.goto(f"/ui/board?customer={quote(customer)}")
    name, body = download(page, ".downloads a[href^='/ui/board/template.xlsx']")
    assert name.startswith("board-orders-template-") and name.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Customer reference", "Channel", "Customer")
    board = server.get("/board", customer=customer, limit="500")
    numbers = [card["number"] for column in board["columns"] for card in column["cards"]]
    lines = {n: len(server.get("/orders", number=n)["items"][0]["lines"]) for n in numbers}
    assert [row[0] for row in rows[1:]] == [n for n in numbers for _ in range(lines[n])]
    assert {row[2] for row in rows[1:]} == {customer}


def test_the_imports_page_downloads_orders_as_a_template_that_checks_clean(
    open_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    """Orders at a stage, downloaded from the imports page in Chinese, and the
    same file checked by its upload form: every order ready to record."""
    page = open_page(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh"})
    page.goto("/ui/imports")
    page.select_option("#x-stage", "confirmed")
    name, body = download(page, "[data-testid=export-csv]")
    assert name.startswith("orders-template-") and name.endswith(".csv")
    rows = csv_rows(body)
    assert rows[0][:3] == ["客户订单号", "接单渠道", "客户名称"]
    found = server.get("/orders", stage="confirmed", limit="500")["items"]
    assert sorted({row[0] for row in rows[1:]}) == sorted(o["number"] for o in found) and found
    page.set_input_files("#import-file", files=[{"name": name, "mimeType": "text/csv",
                                                "buffer": body}])  # fmt: skip
    with page.expect_navigation():
        page.click("[data-testid=check]")
    message = page.locator("[data-testid=report-message]").inner_text()
    ready = f"可以录入——订单：{len(found)} 个，产品行：{len(rows) - 1} 行"
    assert message.startswith(ready), message
    assert page.locator("[data-testid=problems]").count() == 0
