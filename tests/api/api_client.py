"""A small test client speaking the ledger API as each role, and the lifecycle
of one order as data, shared by the in-process tests and the real-server test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

TOKENS: dict[str, Any] = {
    "t-sales": {"role": "sales", "name": "sally"},
    "t-merchandiser": {"role": "merchandiser", "name": "max"},
    "t-warehouse": "warehouse",
    "t-finance": {"role": "finance", "name": "fiona"},
    "t-auditor": {"role": "auditor", "name": "audrey"},
    "t-admin": {"role": "admin", "name": "adam"},
}
ROLES = ("sales", "merchandiser", "warehouse", "finance", "auditor", "admin")
ALL_CHECKS = {"customer": True, "product": True, "delivery": True}


def receipt(**overrides: Any) -> dict[str, Any]:
    """A valid order as it arrives: two lines worth 401.00 CNY in total."""
    body: dict[str, Any] = {
        "channel": "phone",
        "customer": {
            "name": "上海華聯貿易有限公司",
            "phone": "021-5555-0101",
            "email": "buy@hl.cn",
        },
        "lines": [
            {"sku": "A-100", "name": "不鏽鋼保溫杯", "quantity": 3, "unit_price": "100.00"},
            {"sku": "B-200", "name": "杯套", "quantity": 2, "unit_price": "50.50"},
        ],
        "delivery": {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"},
        "requested_date": "2026-09-30",
    }
    body.update(overrides)
    return body


class Api:
    """Calls the API with a role's bearer token (default: merchandiser)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    @staticmethod
    def auth(role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer t-{role}"} if role else {}

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        as_: str | None = "merchandiser",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.client.post(path, json=body, headers={**self.auth(as_), **(headers or {})})

    def get(
        self, path: str, *, as_: str | None = "auditor", params: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.auth(as_))

    def ok(self, path: str, body: Any = None, *, as_: str = "merchandiser") -> dict[str, Any]:
        """POST that must succeed; returns the order."""
        response = self.post(path, body, as_=as_)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        result: dict[str, Any] = response.json()
        return result

    def receive(self, **overrides: Any) -> dict[str, Any]:
        return self.ok("/orders", receipt(**overrides), as_="sales")

    def order_at(self, stage: str) -> dict[str, Any]:
        """A new order driven through the lifecycle until it reaches ``stage``."""
        order = self.receive()
        for step_stage, role, path, body in LIFECYCLE:
            if order["stage"] == stage:
                return order
            order = self.ok(path.format(id=order["id"]), body, as_=role)
            assert order["stage"] == step_stage, (path, order["stage"])
        assert order["stage"] == stage
        return order


Step = tuple[str, str, str, Any]  # stage after the step, role, path, body

# One order from verification to archive, each step done by the narrowest role allowed.
LIFECYCLE: list[Step] = [
    ("verified", "sales", "/orders/{id}/verify", {"checks": ALL_CHECKS}),
    (
        "confirmed",
        "sales",
        "/orders/{id}/confirm",
        {
            "promised_date": "2026-10-15",
            "payment_terms": {"method": "bank_transfer", "due_days": 30, "prepayment_percent": 30},
            "contract_ref": "HT-2026-88",
        },
    ),
    (
        "confirmed",
        "sales",
        "/orders/{id}/promises",
        {"promised_date": "2026-10-20", "reason": "船期"},
    ),
    (
        "confirmed",
        "warehouse",
        "/orders/{id}/allocations",
        {"sku": "A-100", "quantity": 3, "warehouse": "滬一倉"},
    ),
    (
        "in_production",
        "merchandiser",
        "/orders/{id}/purchases",
        {
            "po_number": "PO-1",
            "supplier": "寧波杯套廠",
            "items": [{"part": "杯套布料", "quantity": 2}],
        },
    ),
    ("in_production", "merchandiser", "/orders/{id}/purchases/PO-1/receive", {"accepted": 2}),
    ("in_production", "merchandiser", "/orders/{id}/production", {"stage": "組裝", "percent": 50}),
    ("ready_to_ship", "merchandiser", "/orders/{id}/production/complete", None),
    (
        "ready_to_ship",
        "merchandiser",
        "/orders/{id}/quality-issues",
        {"issue_id": "QI-1", "severity": "minor", "category": "外觀", "description": "杯蓋刮痕"},
    ),
    (
        "ready_to_ship",
        "merchandiser",
        "/orders/{id}/quality-issues/QI-1/resolve",
        {"resolution": "repair"},
    ),
    (
        "ready_to_ship",
        "merchandiser",
        "/orders/{id}/shipments",
        {
            "shipment_id": "SH-1",
            "planned_date": "2026-10-10",
            "lines": [{"sku": "A-100", "quantity": 3}, {"sku": "B-200", "quantity": 2}],
            "carrier": "順豐",
            "mode": "road",
        },
    ),
    (
        "ready_to_ship",
        "warehouse",
        "/orders/{id}/shipments/SH-1/pack",
        {"packages": 2, "labels": ["易碎"]},
    ),
    (
        "ready_to_ship",
        "warehouse",
        "/orders/{id}/shipments/SH-1/documents",
        {"kind": "dispatch_note", "number": "DN-1", "status": "submitted"},
    ),
    (
        "ready_to_ship",
        "warehouse",
        "/orders/{id}/shipments/SH-1/documents",
        {"kind": "waybill", "number": "WB-1"},
    ),
    (
        "ready_to_ship",
        "warehouse",
        "/orders/{id}/shipments/SH-1/documents/waybill/status",
        {"status": "reviewed"},
    ),
    (
        "ready_to_ship",
        "warehouse",
        "/orders/{id}/shipments/SH-1/documents/waybill/status",
        {"status": "submitted"},
    ),
    ("shipped", "warehouse", "/orders/{id}/shipments/SH-1/dispatch", {"tracking_number": "SF123"}),
    (
        "shipped",
        "warehouse",
        "/orders/{id}/shipments/SH-1/transit",
        {"status": "in_transit", "location": "杭州"},
    ),
    ("delivered", "warehouse", "/orders/{id}/shipments/SH-1/deliver", {"received_by": "王小明"}),
    (
        "invoiced",
        "finance",
        "/orders/{id}/invoices",
        {"invoice_number": "INV-1", "amount": "401.00", "issued_on": "2026-10-21"},
    ),
    (
        "invoiced",
        "finance",
        "/orders/{id}/payments",
        {"reference": "PAY-1", "amount": "401.00", "received_on": "2026-10-25"},
    ),
    (
        "invoiced",
        "sales",
        "/orders/{id}/complaints",
        {"complaint_id": "C-1", "channel": "phone", "category": "包裝", "description": "外箱破損"},
    ),
    ("invoiced", "sales", "/orders/{id}/complaints/C-1/resolve", {"resolution": "致歉並補寄外箱"}),
    ("settled", "finance", "/orders/{id}/settle", None),
    ("archived", "merchandiser", "/orders/{id}/archive", {"archive_ref": "AR-2026-10"}),
]

Factory = Callable[[], Api]
