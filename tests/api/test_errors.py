"""Every refusal has one shape and the right status; no input produces a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_client import ALL_CHECKS, Api, receipt

from ledger.aggregates import values
from ledger.api import fields


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code
    return body


def test_an_unknown_order_is_404(api: Api) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(api.get(f"/orders/{missing}"), 404, "order_not_found")
    assert_error(api.get(f"/orders/{missing}/history"), 404, "order_not_found")
    assert_error(api.post(f"/orders/{missing}/hold", {"reason": "r"}), 404, "order_not_found")


def test_an_id_that_is_not_a_uuid_is_invalid_input(api: Api) -> None:
    body = assert_error(api.get("/orders/not-a-uuid"), 422, "invalid_input")
    assert body["details"][0]["loc"] == ["path", "order_id"]


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("shipments/NOPE/pack", {"packages": 1}, "unknown_shipment"),
        ("complaints/NOPE/resolve", {"resolution": "r"}, "unknown_complaint"),
        ("quality-issues/NOPE/resolve", {"resolution": "repair"}, "unknown_quality_issue"),
        ("purchases/NOPE/receive", {"accepted": 1}, "unknown_purchase_order"),
    ],
)
def test_an_unknown_shipment_complaint_issue_or_purchase_order_is_404(
    api: Api, path: str, body: dict[str, Any], code: str
) -> None:
    order = api.order_at("confirmed")
    assert_error(api.post(f"/orders/{order['id']}/{path}", body), 404, code)


def test_a_guard_refusal_is_409_with_its_code_and_changes_nothing(api: Api) -> None:
    order = api.receive()
    dispatch = api.post(f"/orders/{order['id']}/shipments/X/dispatch", {"tracking_number": "T"})
    assert_error(dispatch, 409, "order_not_confirmed")
    confirm = api.post(f"/orders/{order['id']}/confirm", {"promised_date": "2026-10-01"})
    assert_error(confirm, 409, "order_not_verified")
    assert api.get(f"/orders/{order['id']}").json()["version"] == 1


def test_a_refused_command_reports_the_numbers_that_made_it_refuse(api: Api) -> None:
    order = api.order_at("confirmed")
    line = {"sku": "A-100", "quantity": 4}
    response = api.post(
        f"/orders/{order['id']}/shipments", {"planned_date": "2026-10-01", "lines": [line]}
    )
    body = assert_error(response, 409, "cannot_plan_more_than_ordered")
    assert body["details"]["ordered"] == 3 and body["details"]["requested"] == 4


def _chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 65536 + 1):
        yield b" " * 65536


def test_a_body_over_1_mb_is_413_by_its_declared_length(api: Api) -> None:
    response = api.client.post(
        "/orders", content=b"{" + b" " * 10_000_000 + b"}", headers=api.auth("sales")
    )
    assert_error(response, 413, "payload_too_large")


def test_a_streamed_body_over_1_mb_is_413_without_a_declared_length(api: Api) -> None:
    headers = {**api.auth("sales"), "Content-Type": "application/json"}
    response = api.client.post("/orders", content=_chunks(2_000_000), headers=headers)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def _line(**changes: Any) -> dict[str, Any]:
    return {"sku": "A", "name": "n", "quantity": 1, "unit_price": "1.00", **changes}


BAD_RECEIPTS: dict[str, Any] = {
    "unknown field": receipt(colour="red"),
    "unknown nested field": receipt(customer={"name": "x", "vip": True}),
    "wrong type": receipt(lines="many"),
    "negative quantity": receipt(lines=[_line(quantity=-1)]),
    "zero quantity": receipt(lines=[_line(quantity=0)]),
    "fractional quantity": receipt(lines=[_line(quantity=1.5)]),
    "quantity as text": receipt(lines=[_line(quantity="1")]),
    "huge quantity": receipt(lines=[_line(quantity=10**40)]),
    "huge price": receipt(lines=[_line(unit_price=1e308)]),
    "infinite price": receipt(lines=[_line(unit_price="Infinity")]),
    "price with 5 decimals": receipt(lines=[_line(unit_price="1.00001")]),
    "negative price": receipt(lines=[_line(unit_price="-1")]),
    "no lines": receipt(lines=[]),
    "unknown channel": receipt(channel="pigeon"),
    "lowercase currency": receipt(currency="cny"),
    "NUL in a name": receipt(customer={"name": "a\u0000b"}),
    "lone surrogate": receipt(customer={"name": "a\ud800b"}),
    "bell character": receipt(customer={"name": "\u0007"}),
    "overlong name": receipt(customer={"name": "名" * 201}),
    "impossible date": receipt(requested_date="2026-02-30"),
    "a list, not an object": [1, 2, 3],
    "null": None,
}


@pytest.mark.parametrize("body", BAD_RECEIPTS.values(), ids=BAD_RECEIPTS.keys())
def test_invalid_input_is_422_with_pydantic_details(api: Api, body: Any) -> None:
    headers = {**api.auth("sales"), "Content-Type": "application/json"}
    response = api.client.post("/orders", content=json.dumps(body), headers=headers)
    details = assert_error(response, 422, "invalid_input")["details"]
    assert details and {"loc", "msg", "type"} <= set(details[0])


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"channel": "phone",}',
        b"\xff\xfe",
        b"",
        '{"a": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ],
    ids=["truncated", "trailing comma", "not utf-8", "empty", "encoded surrogate"],
)
def test_malformed_json_is_422(api: Api, raw: bytes) -> None:
    headers = {**api.auth("sales"), "Content-Type": "application/json"}
    assert_error(api.client.post("/orders", content=raw, headers=headers), 422, "invalid_input")


def test_full_unicode_text_is_kept_exactly(api: Api) -> None:
    name = "Ω 株式会社 🚚 עברית العربية e\u0301"
    order = api.receive(customer={"name": name, "address": "第1行\n第2行\t"})
    assert api.get(f"/orders/{order['id']}").json()["customer"]["name"] == name


def test_an_unknown_path_or_method_has_the_error_shape_too(api: Api) -> None:
    assert_error(api.get("/nowhere"), 404, "not_found")
    assert_error(api.client.delete("/orders"), 405, "method_not_allowed")


def test_verification_checks_only_name_the_three_areas(api: Api) -> None:
    order = api.receive()
    response = api.post(f"/orders/{order['id']}/verify", {"checks": {**ALL_CHECKS, "mood": True}})
    assert_error(response, 422, "invalid_input")


def test_the_api_enums_match_the_domain(api: Api) -> None:
    from typing import get_args

    assert get_args(fields.Channel) == values.CHANNELS
    assert get_args(fields.TransportMode) == values.TRANSPORT_MODES
    assert get_args(fields.Severity) == values.SEVERITIES
    assert get_args(fields.Resolution) == values.RESOLUTIONS
    assert get_args(fields.TransitStatus) == values.TRANSIT_STATUSES
    assert get_args(fields.DocumentKind) == values.DOCUMENT_KINDS
    assert get_args(fields.DocumentStatus) == values.DOCUMENT_STATUSES
    assert get_args(fields.PaymentMethod) == values.PAYMENT_METHODS


def test_an_unexpected_error_is_a_500_with_the_error_shape(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = api.client.app.state.ledger  # type: ignore[attr-defined]

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ledger, "history", boom)
    from fastapi.testclient import TestClient

    with TestClient(api.client.app, raise_server_exceptions=False) as client:  # type: ignore[attr-defined]
        response = client.get(
            "/orders/00000000-0000-4000-8000-000000000000/history", headers=api.auth("auditor")
        )
    body = assert_error(response, 500, "internal_error")
    assert "disk on fire" not in body["message"]
