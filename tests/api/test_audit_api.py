"""The audit endpoints: who may call them and what they answer."""

from __future__ import annotations

import pytest
from api_client import ROLES, Api, receipt


@pytest.mark.parametrize("role", ROLES)
def test_only_auditors_verify_seal_and_export(api: Api, role: str) -> None:
    order_id = api.receive()["id"]
    allowed = role == "auditor"
    assert (api.get("/audit/verify", as_=role).status_code == 200) == allowed
    assert (api.post("/audit/seal", as_=role).status_code == 200) == allowed
    export = api.get(f"/audit/orders/{order_id}/export", as_=role)
    assert (export.status_code == 200) == allowed
    assert (api.post("/customers/x/erase", as_=role).status_code == 403) == (role != "admin")


def test_verify_reports_what_it_checked_and_export_is_json_lines(api: Api) -> None:
    order_id = api.receive()["id"]
    api.ok(f"/orders/{order_id}/hold", {"reason": "credit"})
    report = api.get("/audit/verify").json()
    assert report["ok"] and report["events_checked"] == 2 and report["orders_checked"] == 1
    assert api.get("/audit/verify", params={"order": order_id}).json()["events_checked"] == 2
    lines = api.get(f"/audit/orders/{order_id}/export").text.splitlines()
    assert len(lines) == 3 and '"manifest"' in lines[-1]


def test_history_with_state_shows_each_change_and_the_state_after(api: Api) -> None:
    order_id = api.receive()["id"]
    api.ok(f"/orders/{order_id}/hold", {"reason": "credit"})
    plain = api.get(f"/orders/{order_id}/history").json()
    assert "state" not in plain[0]
    history = api.get(f"/orders/{order_id}/history", params={"with_state": "true"}).json()
    assert history[1]["changes"]["on_hold"] == {"from": False, "to": True}
    assert history[1]["state"]["on_hold"] is True and history[0]["state"]["version"] == 1


def test_erasing_a_customer_hides_their_personal_data(api: Api) -> None:
    order_id = api.receive()["id"]
    name = receipt()["customer"]["name"]
    response = api.post(f"/customers/{name}/erase", as_="admin")
    assert response.status_code == 200 and response.json()["orders"] == [order_id]
    order = api.get(f"/orders/{order_id}").json()
    assert order["customer"]["phone"] == "[erased]" and order["delivery"]["consignee"] == "[erased]"
    assert order["facets"]["total"] == "401.00"
    assert api.post("/customers/nobody/erase", as_="admin").status_code == 404
