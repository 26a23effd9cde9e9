"""The import page in a real browser: upload, the report in English and
Chinese, recording, the template download; posts from other sites and by
roles that may not receive orders are refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from ui_support import Server

from order_files import order_rows, xlsx_bytes

pytestmark = pytest.mark.slow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHONE = {"width": 390, "height": 844}


def rows_for(prefix: str, orders: int = 2) -> list[dict[str, Any]]:
    rows = order_rows(orders, lines=2, seed=len(prefix))
    for row in rows:
        row["customer_ref"] = f"{prefix}-{row['customer_ref']}"
    return rows


def store_head(server: Server) -> int:
    """The store's last event position (the admin's projection status)."""
    status = httpx.get(
        f"{server.url}/admin/projections", headers={"Authorization": "Bearer ui-admin"}
    )
    head: int = status.json()["head"]
    return head


def choose(page: Any, data: bytes, name: str = "orders.xlsx") -> None:
    page.set_input_files("#import-file", files=[{"name": name, "mimeType": XLSX, "buffer": data}])


def submit(page: Any, which: str) -> str:
    with page.expect_navigation():
        page.click(f"[data-testid={which}]")
    text: str = page.locator("[data-testid=report-message]").inner_text()
    return text


def test_a_file_with_problems_is_reported_cell_by_cell_in_english_and_chinese(
    open_page: Callable[..., Any], shots: Path
) -> None:
    rows = rows_for("BAD")
    rows[1]["quantity"] = "twelve"
    rows[2]["requested_date"] = "31/12/2026"
    data = xlsx_bytes(rows)
    for lang, locale in (("en", "en-GB"), ("zh", "zh-CN")):
        page = open_page(locale=locale)
        page.goto("/ui/imports")
        choose(page, data)
        message = submit(page, "commit")
        problems = page.locator("[data-testid=problems] tbody tr")
        assert problems.count() == 2
        cells = [problems.nth(i).locator("td").nth(1).inner_text() for i in range(2)]
        assert cells == ["Q3", "L4"]
        if lang == "en":
            assert message.startswith("Problems found: 2. Nothing is recorded")
            assert problems.nth(0).inner_text().split("\t")[-1] == "Not a number."
        else:
            assert message.startswith("发现问题：2 个。未录入任何订单")
            assert "数量" in problems.nth(0).inner_text()
            assert page.locator("h1").inner_text() == "导入订单"
        page.screenshot(path=str(shots / f"imports-problems-{lang}-desktop.png"), full_page=True)


def test_check_then_record_a_file_and_find_its_orders(
    open_page: Callable[..., Any], server: Server, shots: Path
) -> None:
    data = xlsx_bytes(rows_for("UI"))
    page = open_page()
    page.goto("/ui/board")
    page.click("nav >> text=Import")
    page.wait_for_url("**/ui/imports")
    choose(page, data)
    before = store_head(server)
    assert submit(page, "check").startswith("Ready to record — orders: 2, lines: 4")
    assert page.locator("[data-testid=orders] tbody tr").count() == 2
    assert store_head(server) == before
    choose(page, data)
    assert submit(page, "commit").startswith("Recorded — new orders: 2")
    page.screenshot(path=str(shots / "imports-recorded-desktop.png"), full_page=True)
    link = page.locator("[data-testid=orders] a").first
    number = link.inner_text()
    link.click()
    page.wait_for_url(f"**/ui/orders/{number}")
    assert server.get("/orders", number=number)["items"][0]["stage"] == "received"
    page.goto("/ui/imports")
    choose(page, data)
    assert submit(page, "commit").startswith("This file was already imported")


def test_the_page_fits_a_phone_and_offers_the_template(
    open_page: Callable[..., Any], shots: Path
) -> None:
    phone = open_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    phone.goto("/ui/imports")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(shots / "imports-zh-phone.png"), full_page=True)
    template = phone.request.get("/ui/imports/template.xlsx")
    assert template.status == 200 and template.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(template.body())).worksheets[0]
    assert sheet["A1"].value == "Customer reference / 客户订单号"


def test_posts_from_another_site_or_by_a_role_that_may_not_receive_are_refused(
    server: Server,
) -> None:
    before = store_head(server)
    files = {"file": ("orders.xlsx", xlsx_bytes(rows_for("X")), XLSX)}
    url = f"{server.url}/ui/imports"
    other_site = httpx.post(
        url, files=files, cookies={"ledger_token": "ui-merchandiser"},
        headers={"Origin": "https://attacker.example"},
    )  # fmt: skip
    assert other_site.status_code == 403
    auditor = httpx.post(url, files=files, cookies={"ledger_token": "ui-auditor"})
    assert auditor.status_code == 403 and "may not receive" in auditor.text
    page = httpx.get(url, cookies={"ledger_token": "ui-auditor"})
    assert page.status_code == 200 and 'href="/ui/imports"' not in page.text
    assert store_head(server) == before
