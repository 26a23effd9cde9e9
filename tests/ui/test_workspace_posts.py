"""The pages' posts through the ASGI app on each store (no browser): what a
tampered or oversized form gets, and that it records nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from ui_support import RECEIPT

AUTH = {"Authorization": "Bearer t-ui"}


def _order_and_form(client: TestClient) -> tuple[str, dict[str, str]]:
    made = client.post("/orders", json=RECEIPT, headers=AUTH)
    order_id: str = made.json()["id"]
    page = client.get(f"/ui/orders/{order_id}").text
    form = re.search(r'data-testid="form-hold">(.*?)</form>', page, re.S)
    assert form is not None
    hidden = dict(re.findall(r'type="hidden" name="(_\w+)" value="([^"]*)"', form.group(1)))
    return order_id, hidden | {"reason": "客户要求"}


def _events(client: TestClient, order_id: str) -> int:
    return len(client.get(f"/orders/{order_id}/history", headers=AUTH).json())


def test_a_tampered_or_oversized_action_form_is_refused_on_a_page_and_records_nothing(
    client: TestClient,
) -> None:
    order_id, form = _order_and_form(client)
    url = f"/ui/orders/{order_id}/actions/hold"
    without = client.post(url, data={k: v for k, v in form.items() if k != "_version"})
    assert without.status_code == 412 and "text/html" in without.headers["content-type"]
    for version in ("abc", "-1", "9" * 12):
        assert client.post(url, data=form | {"_version": version}).status_code == 412
    unknown = client.post(f"/ui/orders/{order_id}/actions/explode", data=form)
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
    assert _events(client, order_id) == 1
    # Fields the command does not know are not sent: the form's own still count.
    crowd = client.post(url, data=form | {f"f{i}": "x" for i in range(3000)},
                        follow_redirects=False)  # fmt: skip
    assert crowd.status_code == 303 and _events(client, order_id) == 2
    again = client.post(url, data=form, follow_redirects=False)  # the same one-time key
    assert again.status_code == 303 and _events(client, order_id) == 2


def test_the_new_order_post_records_what_the_api_records(client: TestClient) -> None:
    page = client.get("/ui/orders/new").text
    token = re.search(r'name="_csrf" value="([^"]+)"', page)
    key = re.search(r'name="_key" value="([^"]+)"', page)
    assert token and key
    line = RECEIPT["lines"][0]
    form = {"_csrf": token.group(1), "_key": key.group(1), "channel": "other",
            "customer.name": RECEIPT["customer"]["name"],
            "delivery.address": RECEIPT["delivery"]["address"],
            "delivery.consignee": RECEIPT["delivery"]["consignee"],
            "lines.0.sku": line["sku"], "lines.0.name": line["name"],
            "lines.0.quantity": str(line["quantity"]), "lines.0.unit_price": line["unit_price"],
            "lines.1.sku": "", "lines.1.name": ""}  # fmt: skip
    first = client.post("/ui/orders/new", data=form, follow_redirects=False)
    again = client.post("/ui/orders/new", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]  # one order, not two
    order_id = first.headers["location"].split("/")[-1].split("?")[0]
    order = client.get(f"/orders/{order_id}", headers=AUTH).json()
    assert (order["channel"], order["facets"]["total"]) == ("other", "300.00")
    entries = client.get(f"/orders/{order_id}/history", headers=AUTH).json()
    assert [e["actor"] for e in entries] == ["王芳"]


def _form(client: TestClient, order_id: str, action: str) -> dict[str, str]:
    page = client.get(f"/ui/orders/{order_id}").text
    form = re.search(rf'data-testid="form-{action}">(.*?)</form>', page, re.S)
    assert form is not None, action
    return dict(re.findall(r'type="hidden" name="(_\w+)" value="([^"]*)"', form.group(1)))


def test_a_stuck_order_is_reviewed_from_its_page_and_a_refusal_keeps_what_was_typed(
    client: TestClient,
) -> None:
    made = client.post("/orders", json=RECEIPT, headers=AUTH)
    order_id = made.json()["id"]
    url = f"/ui/orders/{order_id}/actions/review_backlog"
    client.cookies.set("ledger_lang", "zh", domain="testserver.local", path="/ui")
    refused = client.post(url, data=_form(client, order_id, "review_backlog") | {
        "cause": "other", "note": "   "})  # fmt: skip
    # The guard's refusal ("other" needs a note), in Chinese, the choice kept.
    assert refused.status_code == 409 and "text/html" in refused.headers["content-type"]
    assert "必填项不能为空" in refused.text
    assert re.search(r'<option value="other"[^>]*selected', refused.text)
    assert _events(client, order_id) == 1
    reviewed = client.post(
        url,
        data=_form(client, order_id, "review_backlog") | {"cause": "stock_shortage",
                                                          "note": "等待供应商补货"},
        follow_redirects=False,
    )  # fmt: skip
    assert reviewed.status_code == 303 and _events(client, order_id) == 2
    history = client.get(f"/orders/{order_id}/history", headers=AUTH).json()
    assert history[-1]["type"] == "BacklogReviewed"
    assert history[-1]["payload"]["cause"] == "stock_shortage"
    assert history[-1]["actor"] == "王芳"
    page = client.get(f"/ui/orders/{order_id}").text
    assert "缺货" in page and "等待供应商补货" in page
