"""Optimistic concurrency (If-Match) and idempotent retries (Idempotency-Key) over HTTP."""

from __future__ import annotations

import pytest
from api_client import ALL_CHECKS, Api, receipt

HOLD = {"reason": "credit check"}


def _versions(api: Api, order_id: str) -> int:
    return len(api.get(f"/orders/{order_id}/history").json())


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1", "*"])
def test_a_command_carrying_the_current_version_is_accepted(api: Api, if_match: str) -> None:
    order = api.receive()
    response = api.post(f"/orders/{order['id']}/hold", HOLD, headers={"If-Match": if_match})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_a_command_carrying_a_stale_version_is_412_and_writes_nothing(api: Api) -> None:
    order = api.receive()
    api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS})
    response = api.post(f"/orders/{order['id']}/hold", HOLD, headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"
    assert response.json()["details"] == {"expected": 1, "actual": 2}
    assert _versions(api, order["id"]) == 2


def test_an_unreadable_if_match_is_422(api: Api) -> None:
    order = api.receive()
    response = api.post(f"/orders/{order['id']}/hold", HOLD, headers={"If-Match": '"abc"'})
    assert response.status_code == 422 and response.json()["code"] == "invalid_if_match"


def test_a_repeated_command_returns_the_first_response_and_writes_nothing(api: Api) -> None:
    order = api.receive()
    key = {"Idempotency-Key": "hold-7f3a"}
    first = api.post(f"/orders/{order['id']}/hold", HOLD, headers=key)
    again = api.post(f"/orders/{order['id']}/hold", HOLD, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert {**again.json(), "position": None} == {**first.json(), "position": None}
    assert _versions(api, order["id"]) == 2


def test_a_repeated_receipt_returns_201_and_the_same_order(api: Api) -> None:
    key = {"Idempotency-Key": "po-from-email-1234"}
    first = api.post("/orders", receipt(), as_="sales", headers=key)
    again = api.post("/orders", receipt(), as_="sales", headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    following = api.receive()  # the repeat spent no order number
    assert int(following["number"][-6:]) == int(first.json()["number"][-6:]) + 1


def test_the_same_key_with_another_body_is_422(api: Api) -> None:
    order = api.receive()
    key = {"Idempotency-Key": "k-1"}
    api.post(f"/orders/{order['id']}/hold", HOLD, headers=key)
    response = api.post(f"/orders/{order['id']}/hold", {"reason": "other"}, headers=key)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert _versions(api, order["id"]) == 2


def test_a_repeat_without_a_client_id_names_the_same_shipment(api: Api) -> None:
    order = api.order_at("confirmed")
    plan = {"planned_date": "2026-10-01", "lines": [{"sku": "A-100", "quantity": 1}]}
    key = {"Idempotency-Key": "plan-1"}
    first = api.post(f"/orders/{order['id']}/shipments", plan, headers=key)
    again = api.post(f"/orders/{order['id']}/shipments", plan, headers=key)
    assert first.status_code == again.status_code == 200
    assert [s["shipment_id"] for s in again.json()["shipments"]] == [
        s["shipment_id"] for s in first.json()["shipments"]
    ]
    assert first.json()["shipments"][0]["shipment_id"].startswith("SH-")


def test_generated_ids_differ_without_a_key(api: Api) -> None:
    order = api.order_at("confirmed")
    issue = {"severity": "minor", "category": "外觀", "description": "刮痕"}
    api.ok(f"/orders/{order['id']}/quality-issues", issue)
    after = api.ok(f"/orders/{order['id']}/quality-issues", issue)
    ids = [q["issue_id"] for q in after["quality_issues"]]
    assert len(set(ids)) == 2 and all(i.startswith("QI-") for i in ids)


def test_an_unprintable_idempotency_key_is_422(api: Api) -> None:
    order = api.receive()
    response = api.post(f"/orders/{order['id']}/hold", HOLD, headers={"Idempotency-Key": "a b"})
    assert response.status_code == 422
