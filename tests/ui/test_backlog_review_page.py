"""The backlog page shows each order's review: its cause, the last decision
and whether a review is due, in English and Chinese."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_support import Server

pytestmark = pytest.mark.slow

SEEN = {
    "en-GB": ("Stock shortage", "Review due", "Due for review"),
    "zh-CN": ("缺货", "待审查", "待审查"),
}


@pytest.fixture(scope="module")
def reviewed(server: Server) -> dict[str, Any]:
    """Two stale backlog orders of the demo: one reviewed now, one not."""
    items = server.get("/backlog", limit="500")["items"]
    due = [item for item in items if item["review"]["due"]]
    assert len(due) >= 2, "the demo ends days before today: its quiet orders are due"
    first, second = due[0], due[1]
    answer = server.api.post(
        f"/orders/{first['order_id']}/backlog/review",
        json={"cause": "stock_shortage", "note": "供應商斷貨"},
    )
    assert answer.status_code == 200, answer.text
    server.get("/backlog", after=str(answer.json()["position"]), limit="1")
    return {"reviewed": first["number"], "due": second["number"]}


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_backlog_shows_causes_and_due_reviews(
    open_page: Callable[..., Any], reviewed: dict[str, Any], locale: str
) -> None:
    cause, due, kpi = SEEN[locale]
    page = open_page(locale=locale)
    page.goto("/ui/backlog")
    rows = page.locator("table.backlog tbody tr")
    mine = rows.filter(has=page.locator(f"a:text-is('{reviewed['reviewed']}')"))
    other = rows.filter(has=page.locator(f"a:text-is('{reviewed['due']}')"))
    assert cause in mine.locator("td.review").inner_text()
    assert due not in mine.locator("td.review").inner_text()
    assert due in other.locator("td.review").inner_text()
    assert page.locator(".kpis li", has_text=kpi).count() == 1
