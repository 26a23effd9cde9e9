"""The import page through the ASGI app on each store (no browser): every
answer is a page, never a 500, and a post records only what it says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from order_files import order_rows, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(client: TestClient, data: bytes | None, commit: str = "0", **headers: str) -> str:
    files = {"file": ("orders.xlsx", data, XLSX)} if data is not None else None
    response = client.post("/ui/imports", files=files, data={"commit": commit}, headers=headers)
    assert response.status_code in (200, 403, 422), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    return f"{response.status_code} {response.text}"


def test_the_page_checks_records_and_refuses_as_a_page(client: TestClient) -> None:
    data = xlsx_bytes(order_rows(2))
    assert "Ready to record — orders: 2" in post(client, data)
    recorded = post(client, data, commit="1")
    assert recorded.startswith("200") and recorded.count('href="/ui/orders/SO-') == 2
    assert "already imported" in post(client, data, commit="1")
    bad = xlsx_bytes([{**order_rows(1)[0], "quantity": "x"}])
    assert post(client, bad, commit="1").startswith("422")
    assert "Choose a file first." in post(client, None)
    other_site = post(client, data, commit="1", origin="https://elsewhere.example")
    assert other_site.startswith("403")
