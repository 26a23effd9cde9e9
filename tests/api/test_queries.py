"""Reading orders: now, at a version, as of a moment; history; lookup by number; health."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from api_client import ALL_CHECKS, Api


def test_an_order_reads_as_it_was_at_any_version(any_backend_api: Api) -> None:
    api = any_backend_api
    order = api.receive()
    api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    api.ok(f"/orders/{order['id']}/hold", {"reason": "信用審查"}, as_="sales")
    first = api.get(f"/orders/{order['id']}", params={"version": 1})
    assert first.status_code == 200 and first.headers["ETag"] == '"1"'
    assert first.json()["stage"] == "received" and first.json()["on_hold"] is False
    assert api.get(f"/orders/{order['id']}", params={"version": 3}).json()["on_hold"] is True
    assert api.get(f"/orders/{order['id']}", params={"version": 9}).status_code == 404


def test_an_order_reads_as_it_was_at_a_moment(any_backend_api: Api) -> None:
    api = any_backend_api
    before = datetime.now(UTC)
    order = api.receive()
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    then = api.get(f"/orders/{order['id']}", params={"as_of": between.isoformat()})
    assert then.status_code == 200 and then.json()["stage"] == "received"
    naive = between.replace(tzinfo=None).isoformat()  # naive times are UTC
    assert api.get(f"/orders/{order['id']}", params={"as_of": naive}).json()["version"] == 1
    assert api.get(f"/orders/{order['id']}").json()["stage"] == "verified"
    too_early = api.get(f"/orders/{order['id']}", params={"as_of": before.isoformat()})
    assert too_early.status_code == 404


def test_version_and_as_of_together_or_malformed_are_422(api: Api) -> None:
    order = api.receive()
    path = f"/orders/{order['id']}"
    assert api.get(path, params={"version": 1, "as_of": "2026-01-01T00:00:00Z"}).status_code == 422
    assert api.get(path, params={"version": 0}).status_code == 422
    assert api.get(path, params={"as_of": "yesterday"}).status_code == 422


def test_history_lists_every_event_with_who_when_and_why(api: Api) -> None:
    order = api.receive()
    headers = {"X-Correlation-Id": "corr-1", "X-Causation-Id": "mail-42"}
    api.post(
        f"/orders/{order['id']}/hold",
        {"reason": "客戶要求暫停", "occurred_at": "2026-03-01T09:30:00+08:00"},
        as_="sales",
        headers=headers,
    )
    history = api.get(f"/orders/{order['id']}/history").json()
    assert [e["type"] for e in history] == ["OrderReceived", "OrderPutOnHold"]
    hold = history[1]
    assert hold["actor"] == "sally"
    assert (hold["correlation_id"], hold["causation_id"]) == ("corr-1", "mail-42")
    assert hold["reason"] == "客戶要求暫停"
    assert hold["occurred_at"] == "2026-03-01T09:30:00+08:00"
    assert hold["recorded_at"] != hold["occurred_at"]
    assert hold["payload"] == {"reason": "客戶要求暫停"}
    received = history[0]["payload"]
    assert received["lines"][0]["unit_price"] == "100.00" and received["number"] == order["number"]


def test_the_x_reason_header_is_recorded_when_the_body_has_none(api: Api) -> None:
    order = api.receive()
    api.post(
        f"/orders/{order['id']}/verify",
        {"checks": ALL_CHECKS},
        as_="sales",
        headers={"X-Reason": "phone call"},
    )
    assert api.get(f"/orders/{order['id']}/history").json()[1]["reason"] == "phone call"


def test_an_order_is_found_by_its_number(api: Api) -> None:
    order = api.receive()
    found = api.get("/orders", params={"number": order["number"]}).json()
    assert found["count"] == 1 and found["items"][0]["id"] == order["id"]
    missing = api.get("/orders", params={"number": "SO-1999-000001"}).json()
    assert missing["items"] == [] and missing["count"] == 0


@pytest.mark.parametrize("params", [{"stage": "nowhere"}, {"limit": 0}, {"created_from": "x"}])
def test_a_search_with_a_bad_filter_is_refused(api: Api, params: dict[str, str]) -> None:
    response = api.get("/orders", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_health_reports_the_store(api: Api) -> None:
    body = api.get("/health", as_=None).json()
    assert body["status"] == "ok" and body["store"] in ("memory", "sqlite")


def test_health_is_503_when_the_store_does_not_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = api.client.app.state.ledger.recorder  # type: ignore[attr-defined]

    def unreachable() -> int:
        raise OSError("connection refused")

    monkeypatch.setattr(recorder, "max_notification_id", unreachable)
    response = api.get("/health", as_=None)
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


def test_liveness_answers_without_the_store_while_readiness_says_503(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = api.client.app.state.ledger.recorder  # type: ignore[attr-defined]
    assert api.get("/health/live", as_=None).json() == {"status": "ok"}

    def unreachable() -> int:
        raise OSError("connection refused")

    monkeypatch.setattr(recorder, "max_notification_id", unreachable)
    assert api.get("/health", as_=None).status_code == 503
    live = api.get("/health/live", as_=None)
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_the_store_gate_lets_liveness_through_while_the_store_is_away() -> None:
    from fastapi.testclient import TestClient

    from ledger.api.app import create_app
    from ledger.api.availability import StoreGate, StoreWatch
    from ledger.settings import DatabaseTarget, Settings

    with socket.socket() as s:  # a port nothing listens on: a real failed probe
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    watch = StoreWatch.of(
        DatabaseTarget("postgres", host="127.0.0.1", port=port, user="x", dbname="x")
    )
    watch.away = not watch.probe()
    assert watch.away
    app = create_app(Settings(database_url="memory://", tokens={"t": {"role": "sales"}}))
    app.add_middleware(StoreGate, watch=watch, store="postgres")
    with TestClient(app) as client:
        assert client.get("/health").status_code == 503
        assert client.get("/orders/x", headers={"Authorization": "Bearer t"}).status_code == 503
        assert client.get("/health/live").json() == {"status": "ok"}


def test_openapi_and_docs_are_served(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "/orders/{order_id}/shipments/{shipment_id}/dispatch" in schema["paths"]
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()
    assert api.client.get("/docs").status_code == 200
