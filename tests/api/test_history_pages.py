"""An order's history is answered in bounded pages: ``?limit=`` entries after
version ``?after=``, never more than MAX_PAGE_BYTES of entries, with a ``next``
cursor; unpaged, the whole list only while it fits one such page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_client import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api.history import MAX_LIMIT, MAX_PAGE_BYTES

ENVELOPE = 200  # the page's own keys around its items


def toggle(api: Api, order_id: str, times: int) -> None:
    """``times`` holds and releases: two events each."""
    for n in range(times):
        api.ok(f"/orders/{order_id}/hold", {"reason": f"客戶來電 {n}"}, as_="sales")
        api.ok(f"/orders/{order_id}/release", {"reason": f"已確認 {n}"}, as_="sales")


def walk(api: Api, order_id: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page from ``after`` on, following ``next``."""
    while True:
        response = api.get(f"/orders/{order_id}/history", params=params)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        assert len(response.content) <= MAX_PAGE_BYTES + ENVELOPE
        assert ("link" in response.headers) == (page["next"] is not None)
        yield page
        if page["next"] is None:
            return
        assert f"after={page['next']}" in response.headers["link"]
        params = {**params, "after": page["next"]}


def test_a_long_history_with_states_comes_in_pages_within_the_bound(any_backend_api: Api) -> None:
    api = any_backend_api
    lines = [
        {"sku": f"SKU-{n:03}", "name": "不鏽鋼保溫杯" * 4, "quantity": 3, "unit_price": "1.2345"}
        for n in range(200)
    ]
    order = api.receive(lines=lines)
    toggle(api, order["id"], 60)
    path = f"/orders/{order['id']}/history"

    unpaged = api.get(path, params={"with_state": "true"})
    assert unpaged.status_code == 422, len(unpaged.content)
    assert unpaged.json()["code"] == "history_needs_paging"

    pages = list(walk(api, order["id"], with_state="true", limit=MAX_LIMIT))
    entries = [entry for page in pages for entry in page["items"]]
    assert len(pages) > 1 and all(len(p["items"]) < MAX_LIMIT for p in pages)
    assert [e["version"] for e in entries] == list(range(1, 122))
    for entry in (entries[0], entries[61], entries[-1]):
        at = api.get(f"/orders/{order['id']}", params={"version": entry["version"]}).json()
        assert entry["state"] == {k: v for k, v in at.items() if k != "position"}
    assert entries[1]["changes"]["on_hold"] == {"from": False, "to": True}
    assert entries[-1]["changes"]["on_hold"] == {"from": True, "to": False}
    # Without states the same history is small enough to come whole.
    plain = api.get(path).json()
    assert [e["version"] for e in plain] == list(range(1, 122)) and "state" not in plain[0]


@pytest.fixture
def toggled(api: Api) -> tuple[Api, str, list[dict[str, Any]]]:
    """An order of 25 events and its unpaged history with states."""
    order = api.receive()
    toggle(api, order["id"], 12)
    whole = api.get(f"/orders/{order['id']}/history", params={"with_state": "true"}).json()
    assert len(whole) == 25
    return api, order["id"], whole


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(limit=st.integers(1, 30), after=st.integers(0, 27), with_state=st.booleans())
def test_pages_from_any_version_add_up_to_the_rest_of_the_history(
    toggled: tuple[Api, str, list[dict[str, Any]]], limit: int, after: int, with_state: bool
) -> None:
    api, order_id, whole = toggled
    pages = list(walk(api, order_id, limit=limit, after=after, with_state=with_state))
    assert all(len(page["items"]) <= limit and page["limit"] == limit for page in pages)
    assert all(page["items"] for page in pages[:-1])
    entries = [entry for page in pages for entry in page["items"]]
    expected = whole[after:]
    if not with_state:
        expected = [{k: v for k, v in e.items() if k not in ("changes", "state")} for e in expected]
    assert entries == expected


def test_paging_defaults_and_limits(toggled: tuple[Api, str, list[dict[str, Any]]]) -> None:
    api, order_id, whole = toggled
    path = f"/orders/{order_id}/history"
    first = api.get(path, params={"after": 0}).json()
    assert first["limit"] == 100 and first["next"] is None and len(first["items"]) == 25
    assert api.get(path, params={"after": 25}).json() == {
        "items": [], "limit": 100, "after": 25, "next": None
    }  # fmt: skip
    for wrong in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"after": -1}, {"limit": "1e3"}):
        response = api.get(path, params=wrong)
        assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    missing = "/orders/00000000-0000-4000-8000-000000000000/history"
    assert api.get(missing, params={"after": 3}).json()["code"] == "order_not_found"
    assert api.get(path).json() == [
        {k: v for k, v in e.items() if k not in ("changes", "state")} for e in whole
    ]
