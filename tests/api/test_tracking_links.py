"""Customer tracking links: issued, listed and revoked by sales and
merchandisers as events on the order; ``GET /t/<token>`` shows the customer
only what is theirs to see, follows the order through split and merge, and
refuses unknown, revoked and expired links alike in time."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_client import LIFECYCLE, TOKENS, Api, receipt
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.api.tracking import REFUSAL_SECONDS
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.followup import TOKEN_LENGTH, order_of_token, token_hash
from ledger.settings import Settings

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def timed_api(clock: SimulatedClock) -> Iterator[Api]:
    """The API on an in-memory store whose clock the test moves."""
    settings = Settings(database_url="memory://", tokens=TOKENS, run_projections=False)
    app = create_app(ledger=Ledger(settings, clock=clock))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client)


def issue(api: Api, order_id: str, days: int = 30, **kw: Any) -> dict[str, Any]:
    response = api.post(f"/orders/{order_id}/tracking-links", {"expires_in_days": days}, **kw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def track(api: Api, url: str, **headers: str) -> Any:
    return api.client.get(url, params={"format": "json"}, headers=headers)


def drive(api: Api, order: dict[str, Any], until: str) -> dict[str, Any]:
    """Walk ``order`` through the shared lifecycle up to the step reaching ``until``."""
    for stage, role, path, body in LIFECYCLE:
        order = api.ok(path.format(id=order["id"]), body, as_=role)
        if stage == until:
            break
    return order


def test_a_link_shows_the_order_and_its_shipments(api: Api) -> None:
    order = drive(api, api.receive(), "shipped")
    order = api.ok(
        f"/orders/{order['id']}/shipments/SH-1/transit",
        {"status": "delayed", "location": "杭州"},
        as_="warehouse",
    )
    link = issue(api, order["id"], as_="sales")
    assert link["status"] == "active" and link["revoked_at"] is None
    assert link["version"] == order["version"] + 1
    token = link["url"].removeprefix("/t/")
    assert len(token) == TOKEN_LENGTH and order_of_token(token) is not None
    # Only the hash is kept: the history and the list never carry the token.
    history = api.get(f"/orders/{order['id']}/history").text
    assert token not in history and token_hash(token) in history
    listed = api.get(f"/orders/{order['id']}/tracking-links", as_="sales").json()
    assert [item["id"] for item in listed] == [link["id"]]
    assert token not in str(listed)

    view = track(api, link["url"]).json()
    assert view["order"] == order["number"] and view["moved"] is None
    (shown,) = view["orders"]
    assert shown["number"] == order["number"]
    assert shown["stage"] == "shipped"
    assert shown["latest_promised_date"] == "2026-10-20"
    assert shown["promised_date_changed"] is True
    (shipment,) = shown["shipments"]
    assert shipment["carrier"] == "順豐"
    assert shipment["tracking_number"] == "SF123"
    assert shipment["status"] == "dispatched" and shipment["transit_status"] == "delayed"
    assert shipment["last_location"] == "杭州"
    assert shipment["delivered_at"] is None


def test_who_may_issue_list_and_revoke(api: Api) -> None:
    order = api.receive()
    for role in ("warehouse", "finance", "auditor", "admin"):
        refused = api.post(f"/orders/{order['id']}/tracking-links", {}, as_=role)
        assert refused.status_code == 403, role
        assert api.get(f"/orders/{order['id']}/tracking-links", as_=role).status_code == 403
    assert api.post(f"/orders/{order['id']}/tracking-links", {}, as_=None).status_code == 401
    link = issue(api, order["id"], as_="merchandiser")
    path = f"/orders/{order['id']}/tracking-links/{link['id']}/revoke"
    assert api.post(path, None, as_="warehouse").status_code == 403
    assert api.get(f"/orders/{order['id']}").json()["version"] == 2


@pytest.mark.parametrize("days", [0, -1, 367, "x", 1.5])
def test_a_bad_expiry_is_refused_and_changes_nothing(api: Api, days: Any) -> None:
    order = api.receive()
    response = api.post(f"/orders/{order['id']}/tracking-links", {"expires_in_days": days})
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "details"}
    assert api.get(f"/orders/{order['id']}").json()["version"] == order["version"]


def test_revoked_and_unknown_links_answer_404_alike_expired_410(
    timed_api: Api, clock: SimulatedClock
) -> None:
    api = timed_api
    order = api.receive()
    revoked, expiring, kept = (issue(api, order["id"], days=d) for d in (30, 1, 30))
    links = f"/orders/{order['id']}/tracking-links"
    answer = api.post(f"{links}/{revoked['id']}/revoke", None, as_="sales")
    assert answer.status_code == 200 and answer.json()["id"] == order["id"]
    listed = {link["id"]: link for link in api.get(links, as_="sales").json()}
    assert listed[revoked["id"]]["status"] == "revoked"
    again = api.post(f"{links}/{revoked['id']}/revoke", None, as_="sales")
    assert again.status_code == 409 and again.json()["code"] == "tracking_link_revoked"
    missing = api.post(f"{links}/TL-NOPE/revoke", None, as_="sales")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_tracking_link"

    clock.advance(timedelta(days=2))
    token = kept["url"].removeprefix("/t/")
    forged = "/t/" + token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_order = "/t/" + "A" * TOKEN_LENGTH
    track(api, "/t/warm-up")  # the first refusal loads the page template
    answers = {}
    for name, url in [
        ("revoked", revoked["url"]),
        ("forged", forged),
        ("other_order", other_order),
        ("garbage", "/t/not-a-token"),
        ("long", "/t/" + "x" * 500),
        ("expired", expiring["url"]),
    ]:
        started = time.monotonic()
        json_answer = track(api, url)
        elapsed = time.monotonic() - started
        html_answer = api.client.get(url, headers={"Accept": "text/html,*/*;q=0.8"})
        answers[name] = (json_answer.status_code, json_answer.json(), html_answer, elapsed)
    for name in ("revoked", "forged", "other_order", "garbage", "long"):
        status, body, html, elapsed = answers[name]
        assert status == 404 and body["code"] == "tracking_link_not_found", name
        assert html.status_code == 404 and html.text == answers["revoked"][2].text
        assert elapsed >= REFUSAL_SECONDS, (name, elapsed)
    # Each refusal waits out the same floor: what is left is scheduling noise.
    times = [answers[name][3] for name in ("revoked", "forged", "other_order", "garbage", "long")]
    assert max(times) - min(times) < 0.3, times
    status, body, html, elapsed = answers["expired"]
    assert status == 410 and body["code"] == "tracking_link_expired"
    assert html.status_code == 410 and elapsed >= REFUSAL_SECONDS
    assert "text/html" in html.headers["content-type"]
    # Without asking for HTML, a refusal is the usual error JSON.
    plain = api.client.get(revoked["url"])
    assert plain.status_code == 404 and set(plain.json()) == {"code", "message", "details"}
    assert track(api, kept["url"]).status_code == 200
    statuses = {
        item["id"]: item["status"]
        for item in api.get(f"/orders/{order['id']}/tracking-links", as_="sales").json()
    }
    assert statuses == {revoked["id"]: "revoked", expiring["id"]: "expired", kept["id"]: "active"}


def test_an_idempotent_repeat_issues_no_second_link(api: Api) -> None:
    order = api.receive()
    headers = {"Idempotency-Key": "link-1"}
    path = f"/orders/{order['id']}/tracking-links"
    first = api.post(path, {"expires_in_days": 7}, headers=headers)
    second = api.post(path, {"expires_in_days": 7}, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"] and second.json()["url"] is None
    assert len(api.get(path, as_="sales").json()) == 1
    other = api.post(path, {"expires_in_days": 8}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_the_link_follows_a_split_into_its_children(api: Api) -> None:
    order = api.receive()
    link = issue(api, order["id"])
    parts = {
        "parts": [
            [{"sku": "A-100", "quantity": 3}],
            [{"sku": "B-200", "quantity": 2}],
        ]
    }
    api.ok(f"/orders/{order['id']}/split", parts, as_="sales")
    view = track(api, link["url"]).json()
    assert view["moved"] == "split"
    numbers = [shown["number"] for shown in view["orders"]]
    assert numbers == [f"{order['number']}-1", f"{order['number']}-2"]
    # A split order's link may still be revoked.
    path = f"/orders/{order['id']}/tracking-links/{link['id']}/revoke"
    assert api.post(path, None, as_="sales").status_code == 200
    assert track(api, link["url"]).status_code == 404


def test_the_link_follows_a_merge_and_shows_no_other_order_before_it(api: Api) -> None:
    first, second = api.receive(), api.receive()
    link = issue(api, first["id"])
    before = track(api, link["url"]).json()
    assert [o["number"] for o in before["orders"]] == [first["number"]]
    assert second["number"] not in str(before)
    merged = api.ok("/orders/merge", {"order_ids": [first["id"], second["id"]]}, as_="sales")
    view = track(api, link["url"]).json()
    assert view["moved"] == "merged"
    assert [o["number"] for o in view["orders"]] == [merged["number"]]
    # Issuing on a merged (closed) order is refused.
    refused = api.post(f"/orders/{first['id']}/tracking-links", {})
    assert refused.status_code == 409 and refused.json()["code"] == "order_closed"


def test_requests_are_rate_limited_per_client() -> None:
    settings = Settings(database_url="memory://", tokens=TOKENS, tracking_rate_per_minute=3)
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        link = issue(api, api.receive()["id"])
        answers = [client.get(link["url"]).status_code for _ in range(3)]
        limited = client.get(link["url"])
    assert answers == [200, 200, 200]
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61


# -- nothing of the order that is not the customer's to see ------------------------


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def secrets_of(api: Api, order_id: str) -> set[str]:
    """Every price, amount and personal value the order holds (as the auditor
    reads it), and every actor and reason of its history."""
    order = api.get(f"/orders/{order_id}").json()
    found: set[str] = set()
    found |= set(_texts(order["customer"])) | set(_texts(order["delivery"]))
    found |= set(_texts(order["invoice_info"])) | {order["special_requirements"]}
    for line in order["lines"]:
        found |= {line["unit_price"], line["amount"]}
    for key in ("invoices", "credit_notes", "payments"):
        for item in order[key]:
            found |= {str(item["amount"]), item.get("reason", "")}
    found |= {p["reason"] for p in order["promises"]}
    for issue_ in order["quality_issues"]:
        found |= {issue_["description"], issue_["note"], issue_["category"]}
    for complaint in order["complaints"]:
        found |= {complaint["description"], complaint["contact"], complaint["resolution"]}
    for shipment in order["shipments"]:
        found |= {shipment["received_by"], str(shipment["estimated_cost"])}
        if shipment.get("packing"):
            found |= set(_texts(shipment["packing"]))
    found |= {order["hold_reason"], order["contract_ref"]}
    found |= {str(v) for k, v in order["facets"].items() if isinstance(v, str) and "ratio" not in k}
    for entry in api.get(f"/orders/{order_id}/history").json():
        found |= {entry["actor"], entry["reason"]}
    found |= {t["name"] for t in TOKENS.values() if isinstance(t, dict)}
    found |= {p["supplier"] for p in order["purchases"]}
    # Too short to mean anything on their own ("", "0", a confirmed promise's reason).
    return {text for text in found if len(text) >= 3 and text != "confirmed"}


def test_the_page_and_json_hold_no_price_amount_or_personal_value(api: Api) -> None:
    order = drive(api, api.receive(), "delivered")
    oid = order["id"]
    api.ok(
        f"/orders/{oid}/complaints",
        {
            "channel": "phone",
            "category": "packaging",
            "description": "外箱破損，客戶很不滿意",
            "contact": "王先生 13800000000",
        },
        as_="sales",
    )
    api.ok(
        f"/orders/{oid}/quality-issues",
        {"issue_id": "QI-2", "severity": "major", "category": "尺寸", "description": "杯口變形"},
    )
    api.ok(
        f"/orders/{oid}/invoices",
        {"invoice_number": "INV-9", "amount": "120.30", "issued_on": "2026-10-21"},
        as_="finance",
    )
    api.ok(f"/orders/{oid}/hold", {"reason": "客戶信用額度檢查中"}, as_="sales")
    link = issue(api, oid)
    secrets = secrets_of(api, oid)
    assert {"上海華聯貿易有限公司", "100.0000", "300.00", "401.00", "120.30", "sally"} <= secrets
    assert {"王小明", "客戶信用額度檢查中", "杯口變形", "王先生 13800000000"} <= secrets
    assert "杭州" not in secrets  # the last location is the customer's to see
    answer_json = track(api, link["url"])
    answer_html = api.client.get(link["url"], headers={"Accept-Language": "zh-CN"})
    assert answer_json.status_code == answer_html.status_code == 200
    for text in (answer_json.text, answer_html.text):
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], leaked
        # No figure with decimals at all: dates and a tracking number only.
        assert re.search(r"\d+\.\d{2}\b", text) is None
    # The hold is internal: the customer sees how far the goods have got.
    assert answer_json.json()["orders"][0]["stage"] == "delivered"
    assert answer_html.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_speaks_the_customers_language(api: Api) -> None:
    order = api.receive(**receipt())
    link = issue(api, order["id"])
    zh = api.client.get(link["url"], headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    en = api.client.get(link["url"], headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="zh-Hans">' in zh.text and "已接收" in zh.text
    assert '<html lang="en">' in en.text and "Received" in en.text
    assert order["number"] in zh.text and order["number"] in en.text
