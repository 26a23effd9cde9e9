"""The pages' download buttons in a real browser, against ``ledger serve`` on the
demo data: each file holds what the API lists under the page's filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import Server

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
