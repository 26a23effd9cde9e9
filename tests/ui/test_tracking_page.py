"""A customer's tracking page in a real browser, without signing in, in the
language the browser asks for; a revoked link's page in the same language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_support import RECEIPT, Server

pytestmark = pytest.mark.slow

SEEN = {
    "en-GB": ("Order {number}", "Confirmed", "Planned", "(the date was changed)", "not valid"),
    "zh-CN": ("订单 {number}", "已确认", "已计划", "（交货日期已变更）", "链接无效"),
}


@pytest.fixture(scope="module")
def linked(server: Server) -> dict[str, Any]:
    """A confirmed order with a planned shipment, a changed promise and a live link."""
    api = server.api

    def ok(path: str, body: Any) -> Any:
        response = api.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    order = ok("/orders", {**RECEIPT, "customer": {"name": "杭州順達貿易有限公司"}})
    oid = order["id"]
    ok(f"/orders/{oid}/verify", {"checks": {"customer": True, "product": True, "delivery": True}})
    terms = {"method": "bank_transfer", "due_days": 30}
    ok(f"/orders/{oid}/confirm", {"promised_date": "2026-12-20", "payment_terms": terms})
    ok(f"/orders/{oid}/promises", {"promised_date": "2026-12-28", "reason": "工廠停電兩天"})
    shipment = {
        "shipment_id": "SH-T",
        "planned_date": "2026-12-22",
        "lines": [{"sku": "A-100", "quantity": 3}],
        "carrier": "中通快递",
        "mode": "express",
    }
    ok(f"/orders/{oid}/shipments", shipment)
    link = ok(f"/orders/{oid}/tracking-links", {"expires_in_days": 14})
    revoked = ok(f"/orders/{oid}/tracking-links", {"expires_in_days": 14})
    answer = api.post(f"/orders/{oid}/tracking-links/{revoked['id']}/revoke")
    assert answer.status_code == 200
    return {"number": order["number"], "url": link["url"], "revoked": revoked["url"]}


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_customer_sees_the_order_in_their_language(
    open_page: Callable[..., Any], linked: dict[str, Any], shots: Path, locale: str
) -> None:
    title, stage, planned, changed, _ = SEEN[locale]
    page = open_page(signed_in=False, locale=locale)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    response = page.goto(linked["url"])
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == title.format(number=linked["number"])
    assert page.locator("dd.stage").inner_text() == stage
    promised = page.locator("dd.promised")
    assert "2026-12-28" in promised.inner_text() and changed in promised.inner_text()
    row = page.locator("table.shipments tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "中通快递" and cells[2] == planned
    body = page.locator("body").inner_text()
    for hidden in ("工廠停電兩天", "杭州順達貿易有限公司", "100.00", "300.00", "王芳", "王小明"):
        assert hidden not in body
    assert page.locator("nav").count() == 0  # none of the staff pages' navigation
    assert problems == []
    page.screenshot(path=str(shots / f"tracking-{locale}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_a_revoked_link_says_so_in_their_language(
    open_page: Callable[..., Any], linked: dict[str, Any], locale: str
) -> None:
    page = open_page(signed_in=False, locale=locale)
    response = page.goto(linked["revoked"])
    assert response is not None and response.status == 404
    assert SEEN[locale][4] in page.locator("h1").inner_text()
