"""The audit endpoints: who may call them and what they answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_client import ROLES, TOKENS, Api, receipt
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.audit.keys import key_id
from ledger.settings import Settings


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


def test_a_service_with_another_key_says_so_instead_of_calling_seals_forged(
    tmp_path: Path,
) -> None:
    """The API's report and the order page name both keys; no seal is called forged."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    sealing_key, other_key = "the-key-that-sealed-0123", "another-service-key-0123"
    with TestClient(
        create_app(Settings(database_url=url, tokens=TOKENS, audit_key=sealing_key))
    ) as c:
        order_id = Api(c).receive()["id"]
        assert Api(c).post("/audit/seal", as_="auditor").json()["sealed"] == 1
    with TestClient(
        create_app(Settings(database_url=url, tokens=TOKENS, audit_key=other_key))
    ) as c:
        report = Api(c).get("/audit/verify", as_="auditor").json()
        page = c.get(f"/ui/orders/{order_id}", headers=Api.auth("auditor")).text
    assert (report["ok"], report["verdict"], report["findings"]) == (False, "wrong_key", [])
    assert report["seals_with_other_keys"] == {key_id(sealing_key.encode()): 1}
    assert f"Sealed with key {key_id(sealing_key.encode())}" in page and "Broken" not in page
