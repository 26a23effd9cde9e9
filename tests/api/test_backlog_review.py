"""Backlog review through the API: each command's guards (a refusal records
nothing) and its effect on the order, the board, the backlog, the customer
statement, the alerts and the dispositions report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from api_client import ALL_CHECKS, TOKENS, Api, receipt
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
TERMS = {"method": "bank_transfer", "due_days": 30}
CUSTOMER = receipt()["customer"]["name"]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def app_and_api(clock: SimulatedClock) -> Iterator[tuple[Any, Api]]:
    """The API with its projections running, on a clock the test moves."""
    settings = Settings(database_url="memory://", tokens=TOKENS, stale_days=14)
    app = create_app(ledger=Ledger(settings, clock=clock))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield app, Api(client)


@pytest.fixture
def api(app_and_api: tuple[Any, Api]) -> Api:
    return app_and_api[1]


def confirmed(api: Api, **overrides: Any) -> dict[str, Any]:
    """A confirmed order: A-100 3 × 100.00 and B-200 2 × 50.50 (401.00 CNY)."""
    order = api.receive(**overrides)
    api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    body = {"promised_date": "2026-09-20", "payment_terms": TERMS}
    return api.ok(f"/orders/{order['id']}/confirm", body, as_="sales")


def review(api: Api, oid: str, cause: str = "customer_delay", **kw: Any) -> dict[str, Any]:
    return api.ok(f"/orders/{oid}/backlog/review", {"cause": cause, "note": "客戶倉庫未清"}, **kw)


def dispose(api: Api, oid: str, body: dict[str, Any], **kw: Any) -> Any:
    return api.post(f"/orders/{oid}/backlog/dispose", body, **kw)


def read(api: Api, path: str, position: int, **params: Any) -> Any:
    """A read model once it has folded ``position``."""
    response = api.get(path, params={"after": position, "wait": 5, **params})
    assert response.status_code == 200, response.text
    return response.json()


def cards(board: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "order_id" in value and "total" in value:
                found[value["order_id"]] = value
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(board)
    return found


def statement_line(api: Api, position: int, number: str) -> dict[str, Any]:
    answer = read(api, f"/customers/{quote(CUSTOMER)}/statement", position)
    return next(line for line in answer["items"] if line["number"] == number)


def test_a_discount_lowers_prices_rounded_per_line_everywhere(
    api: Api, clock: SimulatedClock
) -> None:
    order = confirmed(api)
    oid = order["id"]
    clock.advance(timedelta(days=20))  # overdue against 2026-09-20, and stale
    reviewed = review(api, oid, as_="sales")
    assert reviewed["backlog"]["reviews"][0]["cause"] == "customer_delay"
    body = {
        "action": "discount",
        "reason": "清庫存，客戶同意收貨",
        "prices": [{"sku": "A-100", "unit_price": "66.6667"}],
    }
    answer = dispose(api, oid, body, as_="sales")
    assert answer.status_code == 200, answer.text
    after = answer.json()
    # 3 × 66.6667 = 200.0001, rounded once for the line: 200.00; the total 301.00.
    line = next(ln for ln in after["lines"] if ln["sku"] == "A-100")
    assert line["unit_price"] == "66.6667" and line["amount"] == "200.00"
    assert after["facets"]["total"] == "301.00"
    decided = after["backlog"]["dispositions"][0]
    assert decided["action"] == "discount" and decided["prices"] == {"A-100": "66.6667"}
    position = after["position"]

    card = cards(read(api, "/board", position))[oid]
    assert card["total"] == "301.00"
    item = next(i for i in read(api, "/backlog", position)["items"] if i["order_id"] == oid)
    assert item["open_value"] == "301.00"
    shown = item["review"]
    assert shown["cause"] == "customer_delay" and shown["last_review_at"] is not None
    assert shown["disposition"]["action"] == "discount"
    assert shown["disposition"]["value"] == "100.00"  # 300.00 → 200.00
    assert statement_line(api, position, order["number"])["total"] == "301.00"


def test_donating_closes_what_is_left_and_a_whole_donation_cancels(api: Api) -> None:
    whole, partly = confirmed(api), confirmed(api)
    for oid in (whole["id"], partly["id"]):
        review(api, oid, "stock_shortage")
    # One of the two lines planned for a shipment: only the other is donated.
    plan = {
        "shipment_id": "SH-1",
        "planned_date": "2026-09-10",
        "lines": [{"sku": "A-100", "quantity": 3}],
        "carrier": "順豐",
        "mode": "road",
    }
    api.ok(f"/orders/{partly['id']}/shipments", plan)
    body = {"action": "donate", "reason": "捐贈希望小學"}
    kept = dispose(api, partly["id"], body).json()
    assert kept["status"] == "confirmed"
    assert {ln["sku"]: ln["short_closed"] for ln in kept["lines"]} == {"A-100": 0, "B-200": 2}
    gone = dispose(api, whole["id"], body).json()
    assert gone["status"] == "cancelled" and gone["stage"] == "cancelled"
    assert gone["cancel_reason"] == "捐贈希望小學"
    assert all(ln["open"] == 0 for ln in gone["lines"])
    position = gone["position"]
    board = cards(read(api, "/board", position))
    assert whole["id"] not in board and board[partly["id"]]["open_quantity"] == 3
    backlog = read(api, "/backlog", position)
    assert whole["id"] not in {i["order_id"] for i in backlog["items"]}
    # A cancelled order with no money moved is off the statement; the other stays.
    statement = read(api, f"/customers/{quote(CUSTOMER)}/statement", position)
    numbers = {line["number"] for line in statement["items"]}
    assert whole["number"] not in numbers and partly["number"] in numbers


def test_reselling_makes_a_linked_order_for_another_customer(api: Api) -> None:
    order = confirmed(api)
    review(api, order["id"], "payment_hold")
    body = {
        "action": "resell",
        "reason": "原客戶付款困難，轉售",
        "customer": {"name": "寧波遠航進出口有限公司"},
        "delivery": {"address": "寧波市江北區人民路1號", "consignee": "陳大文"},
    }
    answer = dispose(api, order["id"], body)
    assert answer.status_code == 201, answer.text
    resold = answer.json()["resold_order"]
    assert answer.headers["Location"] == f"/orders/{resold['id']}"
    assert resold["split_from"] == order["id"] and resold["status"] == "received"
    assert resold["customer"]["name"] == "寧波遠航進出口有限公司"
    assert {(ln["sku"], ln["quantity"], ln["unit_price"]) for ln in resold["lines"]} == {
        ("A-100", 3, "100.0000"),
        ("B-200", 2, "50.5000"),
    }
    original = answer.json()
    assert original["status"] == "cancelled"  # nothing had shipped: nothing is left
    decided = original["backlog"]["dispositions"][0]
    assert decided["resold_to"] == resold["id"] and decided["resold_number"] == resold["number"]
    assert api.get(f"/orders/{resold['id']}").json()["number"] == resold["number"]
    # An idempotent repeat makes no second order.
    headers = {"Idempotency-Key": "resell-1"}
    other = confirmed(api)
    review(api, other["id"], "payment_hold")
    first = api.post(f"/orders/{other['id']}/backlog/dispose", body, headers=headers)
    again = api.post(f"/orders/{other['id']}/backlog/dispose", body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["version"] == first.json()["version"]


def test_cancelling_by_decision(api: Api) -> None:
    order = confirmed(api)
    review(api, order["id"], "documents")
    answer = dispose(api, order["id"], {"action": "cancel", "reason": "單證無法補齊"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelled"
    position = answer.json()["position"]
    assert order["id"] not in cards(read(api, "/board", position))


def _shipped(api: Api) -> dict[str, Any]:
    order = confirmed(api)
    oid = order["id"]
    review(api, oid, "production_delay")
    plan = {
        "shipment_id": "SH-1",
        "planned_date": "2026-09-10",
        "lines": [{"sku": "A-100", "quantity": 3}, {"sku": "B-200", "quantity": 2}],
        "carrier": "順豐",
        "mode": "express",
    }
    api.ok(f"/orders/{oid}/shipments", plan)
    api.ok(f"/orders/{oid}/shipments/SH-1/documents", {"kind": "waybill", "number": "W1"})
    note = {"kind": "dispatch_note", "number": "DN1", "status": "submitted"}
    api.ok(f"/orders/{oid}/shipments/SH-1/documents", note)
    for status in ("reviewed", "submitted"):
        api.ok(f"/orders/{oid}/shipments/SH-1/documents/waybill/status", {"status": status})
    return api.ok(f"/orders/{oid}/shipments/SH-1/dispatch", {"tracking_number": "SF1"})


REFUSALS: list[tuple[str, Any, dict[str, Any], int, str]] = [
    # (setup, role, body, status, code)
    ("unreviewed", "sales", {"action": "cancel", "reason": "r"}, 409, "backlog_not_reviewed"),
    (
        "reviewed",
        "sales",
        {"action": "discount", "reason": "r", "prices": [{"sku": "A-100", "unit_price": "100"}]},
        409,
        "discount_must_lower_price",
    ),
    (
        "reviewed",
        "sales",
        {"action": "discount", "reason": "r", "prices": [{"sku": "Z-9", "unit_price": "1"}]},
        409,
        "unknown_sku",
    ),
    ("reviewed", "sales", {"action": "discount", "reason": "r"}, 409, "discount_needs_prices"),
    ("reviewed", "sales", {"action": "resell", "reason": "r"}, 409, "resell_needs_customer"),
    (
        "reviewed",
        "sales",
        {
            "action": "resell",
            "reason": "r",
            "customer": {"name": CUSTOMER},
            "delivery": {"address": "a", "consignee": "c"},
        },
        409,
        "resell_needs_another_customer",
    ),
    ("reviewed", "sales", {"action": "gift", "reason": "r"}, 422, "invalid_input"),
    ("reviewed", "sales", {"action": "cancel"}, 422, "invalid_input"),
    ("reviewed", "warehouse", {"action": "cancel", "reason": "r"}, 403, "forbidden"),
    ("reviewed", "finance", {"action": "cancel", "reason": "r"}, 403, "forbidden"),
    ("shipped", "sales", {"action": "cancel", "reason": "r"}, 409, "cannot_cancel_after_dispatch"),
    ("shipped", "sales", {"action": "donate", "reason": "r"}, 409, "nothing_left_to_dispose"),
    ("received", "sales", {"action": "donate", "reason": "r"}, 409, "order_not_confirmed"),
]


@pytest.mark.parametrize(("setup", "role", "body", "status", "code"), REFUSALS)
def test_a_refused_decision_records_nothing(
    api: Api, setup: str, role: str, body: dict[str, Any], status: int, code: str
) -> None:
    if setup == "shipped":
        order = _shipped(api)
    elif setup == "received":
        order = api.receive()
        review(api, order["id"])
        order = api.get(f"/orders/{order['id']}").json()
    else:
        order = confirmed(api)
        if setup == "reviewed":
            order = review(api, order["id"])
    answer = dispose(api, order["id"], body, as_=role)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert set(answer.json()) == {"code", "message", "details"}
    assert api.get(f"/orders/{order['id']}").json()["version"] == order["version"]


def test_review_guards(api: Api) -> None:
    order = confirmed(api)
    path = f"/orders/{order['id']}/backlog/review"
    assert api.post(path, {"cause": "weather"}).status_code == 422
    other = api.post(path, {"cause": "other"})
    assert other.status_code == 409 and other.json()["code"] == "missing_value"
    assert api.post(path, {"cause": "other", "note": "颱風停航"}).status_code == 200
    for role in ("warehouse", "finance", "auditor", "admin"):
        assert api.post(path, {"cause": "documents"}, as_=role).status_code == 403
    api.ok(f"/orders/{order['id']}/cancel", {"reason": "客戶撤單"})
    closed = api.post(path, {"cause": "documents"})
    assert closed.status_code == 409 and closed.json()["code"] == "order_closed"


def test_stale_orders_without_a_recent_review_raise_an_alert(
    app_and_api: tuple[Any, Api], clock: SimulatedClock
) -> None:
    app, api = app_and_api
    quiet, reviewed = confirmed(api), confirmed(api)
    clock.advance(timedelta(days=15))
    position = review(api, reviewed["id"], "quality_hold")["position"]

    def due_alerts(position: int) -> set[str]:
        read(api, "/backlog", position)
        app.state.worker.scan_alerts()
        answer = read(api, "/alerts", position, kind="review_due")
        return {alert["order_id"] for alert in answer["items"]}

    assert due_alerts(position) == {quiet["id"]}
    # A review is not activity: the reviewed order is still stale.
    items = {i["order_id"]: i for i in read(api, "/backlog", position)["items"]}
    assert items[reviewed["id"]]["stale"] and not items[reviewed["id"]]["review"]["due"]
    assert items[quiet["id"]]["review"]["due"] and items[quiet["id"]]["review"]["cause"] is None
    summary = read(api, "/backlog", position)["summary"]
    assert summary["by_cause"]["quality_hold"]["orders"] == 1
    assert summary["by_cause"]["unreviewed"]["orders"] == 1
    assert summary["review_due"] == 1
    # Another stale_days on, the review is old: both are due again.
    clock.advance(timedelta(days=15))
    assert due_alerts(position) == {quiet["id"], reviewed["id"]}


def test_dispositions_are_reported_per_month(api: Api, clock: SimulatedClock) -> None:
    first, second, third = confirmed(api), confirmed(api), confirmed(api)
    for order in (first, second, third):
        review(api, order["id"], "customer_delay")
    cut = {"action": "discount", "reason": "r", "prices": [{"sku": "B-200", "unit_price": "45"}]}
    dispose(api, first["id"], cut)
    clock.advance(timedelta(days=31))  # into October
    dispose(api, second["id"], {"action": "donate", "reason": "r"})
    last = dispose(api, third["id"], {"action": "cancel", "reason": "r"}).json()
    report = read(api, "/reports/backlog-dispositions", last["position"], year=2026)
    assert report["items"] == [
        {"month": "2026-09", "action": "discount", "currency": "CNY", "orders": 1, "units": 2,
         "value": "11.00"},
        {"month": "2026-10", "action": "cancel", "currency": "CNY", "orders": 1, "units": 5,
         "value": "401.00"},
        {"month": "2026-10", "action": "donate", "currency": "CNY", "orders": 1, "units": 5,
         "value": "401.00"},
    ]  # fmt: skip
    assert read(api, "/reports/backlog-dispositions", last["position"], year=2025)["items"] == []
