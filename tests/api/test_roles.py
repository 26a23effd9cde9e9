"""Each role may do exactly what docs/api.md grants it; everyone may read."""

from __future__ import annotations

from typing import Any

import pytest
from api_client import ALL_CHECKS, ROLES, TOKENS, Api, receipt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.api.auth import TokenConfigError, TokensRequired
from ledger.settings import Settings

SALES = {
    "receive",
    "verify",
    "amend",
    "confirm",
    "promise",
    "split",
    "merge",
    "complaint",
    "hold",
    "release",
}
WAREHOUSE = {"stock", "pack", "document", "dispatch", "transit", "deliver"}
FINANCE = {"invoice", "credit", "payment", "settle"}
OTHERS = {"schedule", "purchase", "production", "quality", "short_close", "cancel", "archive"}
MAY: dict[str, set[str]] = {
    "sales": SALES,
    "merchandiser": SALES | WAREHOUSE | FINANCE | OTHERS,
    "warehouse": WAREHOUSE,
    "finance": FINANCE,
    "auditor": set(),
    "admin": set(),
}
D = "2026-10-01"
# (permission, path, body): every command endpoint, with a body that passes validation.
COMMANDS: list[tuple[str, str, Any]] = [
    ("receive", "/orders", None),
    ("merge", "/orders/merge", {"order_ids": ["{id}", "{id}"]}),
    ("verify", "/orders/{id}/verify", {"checks": ALL_CHECKS}),
    ("amend", "/orders/{id}/amend", {"reason": "r", "requested_date": D}),
    ("confirm", "/orders/{id}/confirm", {"promised_date": D}),
    ("promise", "/orders/{id}/promises", {"promised_date": D, "reason": "r"}),
    ("split", "/orders/{id}/split", {"parts": [[{"sku": "A-100", "quantity": 1}]] * 2}),
    ("hold", "/orders/{id}/hold", {"reason": "r"}),
    ("release", "/orders/{id}/release", {"reason": "r"}),
    ("cancel", "/orders/{id}/cancel", {"reason": "r"}),
    ("short_close", "/orders/{id}/short-close", {"sku": "A-100", "quantity": 1, "reason": "r"}),
    ("archive", "/orders/{id}/archive", {"archive_ref": "AR"}),
    (
        "schedule",
        "/orders/{id}/shipments",
        {"planned_date": D, "lines": [{"sku": "A-100", "quantity": 1}]},
    ),
    ("schedule", "/orders/{id}/shipments/S/reschedule", {"planned_date": D, "reason": "r"}),
    ("pack", "/orders/{id}/shipments/S/pack", {"packages": 1}),
    ("document", "/orders/{id}/shipments/S/documents", {"kind": "waybill", "number": "W"}),
    ("document", "/orders/{id}/shipments/S/documents/waybill/status", {"status": "reviewed"}),
    ("dispatch", "/orders/{id}/shipments/S/dispatch", {"tracking_number": "T"}),
    ("transit", "/orders/{id}/shipments/S/transit", {"status": "delayed"}),
    ("deliver", "/orders/{id}/shipments/S/deliver", {"received_by": "x"}),
    ("stock", "/orders/{id}/allocations", {"sku": "A-100", "quantity": 1, "warehouse": "W"}),
    (
        "stock",
        "/orders/{id}/allocations/release",
        {"sku": "A-100", "quantity": 1, "warehouse": "W"},
    ),
    (
        "purchase",
        "/orders/{id}/purchases",
        {"supplier": "s", "items": [{"part": "p", "quantity": 1}]},
    ),
    ("purchase", "/orders/{id}/purchases/P/receive", {"accepted": 1}),
    ("production", "/orders/{id}/production", {"stage": "s", "percent": 10}),
    ("production", "/orders/{id}/production/complete", None),
    (
        "quality",
        "/orders/{id}/quality-issues",
        {"severity": "minor", "category": "c", "description": "d"},
    ),
    ("quality", "/orders/{id}/quality-issues/Q/resolve", {"resolution": "repair"}),
    ("invoice", "/orders/{id}/invoices", {"invoice_number": "I", "amount": "1", "issued_on": D}),
    (
        "credit",
        "/orders/{id}/credit-notes",
        {"credit_note_number": "N", "amount": "1", "reason": "r"},
    ),
    ("payment", "/orders/{id}/payments", {"reference": "P", "amount": "1", "received_on": D}),
    ("settle", "/orders/{id}/settle", None),
    ("complaint", "/orders/{id}/complaints", {"category": "c", "description": "d"}),
    ("complaint", "/orders/{id}/complaints/C/resolve", {"resolution": "r"}),
]
READS = [
    "/orders/{id}",
    "/orders/{id}/history",
    "/orders?number=SO-2026-000001",
    "/orders?customer=x",
    "/board",
    "/backlog",
    "/alerts",
    "/reports/sales",
    "/reports/lead-times",
    "/complaints",
    "/customers/王/statement",
    "/shipments",
    "/audit/archive",
    "/events",
    "/metrics",
    "/health",
    "/health/live",
]
TEMPLATE_NAMES = {
    "{id}": "{order_id}",
    "/S/": "/{shipment_id}/",
    "/P/": "/{po_number}/",
    "/Q/": "/{issue_id}/",
    "/C/": "/{complaint_id}/",
    "/waybill/": "/{kind}/",
}
RESERVED: list[tuple[str | None, str]] = []  # paths answering 501 until their work lands


def _fill(value: Any, order_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", order_id)
    if isinstance(value, list):
        return [_fill(v, order_id) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, order_id) for k, v in value.items()}
    return value


def _template(path: str) -> str:
    for sample, name in TEMPLATE_NAMES.items():
        path = path.replace(sample, name)
    return path


def test_the_permission_table_covers_every_command_route(app: FastAPI) -> None:
    documented = {
        path for path, operations in app.openapi()["paths"].items() if "post" in operations
    }
    listed = {_template(path) for _, path, _ in COMMANDS}
    # Admin and audit actions, whose roles tests/api/test_audit_api.py checks;
    # bulk intake, whose roles tests/api/test_imports.py checks; the webhooks',
    # tests/integration/test_webhook_admin.py.
    assert documented - listed == {
        "/admin/projections/{name}/rebuild",
        "/admin/webhooks",
        "/admin/webhooks/{webhook_id}/replay",
        "/audit/seal",
        "/customers/{name}/erase",
        "/imports",
    }
    assert listed <= documented


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_exactly_what_spec_section_4_grants(api: Api, role: str) -> None:
    order_id = api.receive()["id"]
    wrong = []
    for permission, path, body in COMMANDS:
        payload = _fill(body, order_id) if body is not None else None
        if path == "/orders":
            payload = receipt()
        status = api.post(_fill(path, order_id), payload, as_=role).status_code
        allowed = permission in MAY[role]
        if (status == 403) == allowed:
            wrong.append((role, permission, path, status))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_read_orders_and_read_models(api: Api, role: str) -> None:
    order_id = api.receive()["id"]
    for path in READS:
        assert api.get(_fill(path, order_id), as_=role).status_code == 200, path
    for needs, path in RESERVED:
        response = api.get(_fill(path, order_id), as_=role)
        expected = 501 if needs in (None, role) else 403
        assert response.status_code == expected, (role, path)


def test_projection_status_and_rebuilds_are_for_admins_only(api: Api) -> None:
    assert api.post("/admin/projections/board/rebuild", as_="merchandiser").status_code == 403
    assert api.get("/admin/projections", as_="auditor").status_code == 403
    assert api.get("/admin/projections", as_="admin").status_code == 200
    rebuilt = api.post("/admin/projections/board/rebuild?wait=true", as_="admin")
    assert rebuilt.status_code == 200 and rebuilt.json()["status"] == "done"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "unknown", "not-bearer", "empty"],
)
def test_a_missing_or_unknown_token_gets_401(api: Api, headers: dict[str, str]) -> None:
    for response in (
        api.client.get("/board", headers=headers),
        api.client.post("/orders", json={}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["code"] in ("missing_token", "unknown_token")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_health_needs_no_token(api: Api) -> None:
    response = api.get("/health", as_=None)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_without_tokens_an_embedded_store_gets_a_development_token() -> None:
    app = create_app(Settings(database_url="memory://"))
    token = app.state.dev_token
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/admin/projections", headers=auth).status_code == 200
        assert client.get("/audit/verify", headers=auth).status_code == 200
        order = client.post("/orders", json=receipt(), headers=auth).json()
        history = client.get(f"/orders/{order['id']}/history", headers=auth).json()
        assert history[0]["actor"] == "developer"


def test_a_postgres_store_is_never_served_without_tokens() -> None:
    with pytest.raises(TokensRequired):
        create_app(Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere"))


def test_a_token_with_an_unknown_role_is_a_configuration_error() -> None:
    with pytest.raises(TokenConfigError, match="unknown role"):
        create_app(Settings(database_url="memory://", tokens={"t": "superuser"}))


def test_tokens_may_carry_several_roles_and_record_their_fingerprint() -> None:
    app = create_app(
        Settings(database_url="memory://", tokens={**TOKENS, "t-both": ["sales", "finance"]})
    )
    with TestClient(app) as client:
        both = Api(client)
        order = both.ok("/orders", receipt(), as_="both")
        assert both.post(f"/orders/{order['id']}/settle", as_="both").status_code == 409
        actor = both.get(f"/orders/{order['id']}/history").json()[0]["actor"]
        assert actor.startswith("finance+sales:") and "t-both" not in actor
