"""A page stays small however much data is behind it: the order page lists
at most ``TIMELINE`` events, around the version shown."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from ui_support import PAGE_TOKEN, RECEIPT

from ledger.api.ui.order_view import TIMELINE

AUTH = {"Authorization": f"Bearer {PAGE_TOKEN}"}


def listed_versions(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'<li class="event[^"]*" data-version="(\d+)"', html)]


def test_the_order_page_lists_a_window_of_events_around_the_version_shown(
    client: TestClient,
) -> None:
    order = client.post("/orders", json=RECEIPT, headers=AUTH).json()
    number = order["number"]
    for n in range(TIMELINE // 2 + 10):  # 1 + 2 × 110 = 221 events
        for step in ("hold", "release"):
            body = {"reason": f"{step} {n}"}
            assert client.post(f"/orders/{order['id']}/{step}", json=body, headers=AUTH).is_success
    latest = 1 + 2 * (TIMELINE // 2 + 10)

    now = client.get(f"/ui/orders/{number}")
    assert listed_versions(now.text) == list(range(latest - TIMELINE + 1, latest + 1))
    assert f"of {latest}; the slider opens any other" in now.text
    early = client.get(f"/ui/orders/{number}", params={"version": 5})
    assert listed_versions(early.text) == list(range(1, TIMELINE + 1))
    middle = client.get(f"/ui/orders/{number}", params={"version": 120})
    assert listed_versions(middle.text) == list(range(21, 221))
    assert re.search(r'data-version="120" data-type="\w+" aria-current="step"', middle.text)
