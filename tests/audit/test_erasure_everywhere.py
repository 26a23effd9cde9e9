"""After ``POST /customers/{name}/erase``, no personal text of that customer —
from any event: invoice details, special requirements, reasons, notes,
descriptions, labels, contacts, the metadata's reason — is found in the
store's files (SQLite's database, WAL and shared memory; every PostgreSQL
table as text), in any API answer or page, in an audit export or in a
backup taken afterwards; the chain still verifies, and another customer's
data is untouched.

Driven through the HTTP API as a client would, with the CLI for the export
and the backup."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from audit_helpers import AUDIT_KEY, raw_store
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.audit.service import verify_store
from ledger.settings import Settings

TOKENS = {
    "t-sales": {"role": "sales", "name": "sally"},
    "t-merch": {"role": "merchandiser", "name": "max"},
    "t-admin": {"role": "admin", "name": "adam"},
    "t-audit": {"role": "auditor", "name": "audrey"},
}
EVE = "Eve Trading Co"
OTHER = "Other Trading Co"
# One secret per personal field; each must be gone after the erasure.
S = {
    "phone": "S3cret-phone-0199",
    "email": "s3cret.mail@eve.example",
    "address": "S3cret-home-address-88",
    "d_address": "S3cret-dock-address-99",
    "consignee": "S3cret-consignee-Zhang",
    "d_phone": "S3cret-dphone-0188",
    "problem": "S3cret-problem-text",
    "amend": "S3cret-amend-reason",
    "d2_address": "S3cret-new-dock-77",
    "tax_id": "TAX-S3cret-91310",
    "bank": "BANK-S3cret-6222",
    "inv_phone": "INVPHONE-S3cret-136",
    "special": "call mobile 136-S3cret at home",
    "promise": "S3cret-promise-reason",
    "hold": "S3cret-hold-reason",
    "release": "S3cret-release-reason",
    "x_reason": "S3cret-x-reason-header",
    "po_note": "S3cret-po-note",
    "qi_desc": "S3cret-quality-description",
    "qi_note": "S3cret-quality-note",
    "reschedule": "S3cret-reschedule-reason",
    "materials": "S3cret-materials",
    "label": "S3cret-label-Mrs-Eve",
    "discrepancy": "S3cret-discrepancy",
    "location": "S3cret-location-porch",
    "transit_note": "S3cret-transit-note",
    "received_by": "S3cret-received-by-Li",
    "short": "S3cret-short-close",
    "credit": "S3cret-credit-reason",
    "c_desc": "S3cret-complaint-description",
    "contact": "S3cret-contact-137",
    "c_resolution": "S3cret-complaint-resolution",
    "feedback": "S3cret-customer-feedback",
    "cancel": "S3cret-cancel-reason",
}
OTHER_SECRET = "Other-kept-requirement"


class Client:
    """The API as each role, remembering the last store position written."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.position = 0

    def post(self, path: str, body: Any = None, who: str = "merch", **headers: str) -> Any:
        sent = {"Authorization": f"Bearer t-{who}", **headers}
        response = self.http.post(path, json=body, headers=sent)
        assert response.status_code in (200, 201), (path, response.text)
        answer = response.json()
        self.position = max(self.position, answer.get("position") or 0)
        return answer

    def get(self, path: str, **params: Any) -> str:
        """An answer as text: JSON with its texts unescaped, an export's lines
        with their stored bytes, a page as it is."""
        response = self.http.get(path, params=params, headers={"Authorization": "Bearer t-audit"})
        assert response.status_code == 200, (path, response.text)
        kind = response.headers["content-type"]
        if kind.startswith("application/json"):
            return json.dumps(response.json(), ensure_ascii=False)
        if kind.startswith("application/x-ndjson"):
            return export_text(response.text)
        return response.text


def receipt(customer: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "phone",
        "customer": {
            "name": customer,
            "phone": S["phone"],
            "email": S["email"],
            "address": S["address"],
        },
        "lines": [
            {"sku": "A-100", "name": "Cup", "quantity": 3, "unit_price": "100.00"},
            {"sku": "B-200", "name": "Sleeve", "quantity": 2, "unit_price": "50.50"},
        ],
        "delivery": {"address": S["d_address"], "consignee": S["consignee"], "phone": S["d_phone"]},
        **extra,
    }


def eve_order(api: Client) -> str:
    """An order of Eve's carrying every personal field there is."""
    oid = api.post("/orders", receipt(EVE), "sales", **{"Idempotency-Key": "eve-1"})["id"]
    o = f"/orders/{oid}"
    checks = {"customer": True, "product": False, "delivery": True}
    api.post(f"{o}/verify", {"checks": checks, "problems": [S["problem"]]}, "sales")
    new_dock = {"address": S["d2_address"], "consignee": S["consignee"], "phone": S["d_phone"]}
    api.post(f"{o}/amend", {"reason": S["amend"], "delivery": new_dock}, "sales")
    api.post(f"{o}/verify", {"checks": {**checks, "product": True}}, "sales")
    info = {"tax_id": S["tax_id"], "bank_account": S["bank"], "phone": S["inv_phone"]}
    api.post(
        f"{o}/confirm",
        {
            "promised_date": "2026-10-15",
            "invoice_info": info,
            "special_requirements": S["special"],
            "contract_ref": "HT-1",
        },
    )
    api.post(f"{o}/promises", {"promised_date": "2026-10-20", "reason": S["promise"]})
    api.post(f"{o}/hold", {"reason": S["hold"]})
    api.post(f"{o}/release", {"reason": S["release"]})
    api.post(
        f"{o}/allocations",
        {"sku": "A-100", "quantity": 3, "warehouse": "W1"},
        **{"X-Reason": S["x_reason"]},
    )
    api.post(
        f"{o}/purchases",
        {"po_number": "PO-1", "supplier": "Parts Co", "items": [{"part": "lid", "quantity": 2}]},
    )
    api.post(f"{o}/purchases/PO-1/receive", {"accepted": 2, "note": S["po_note"]})
    api.post(
        f"{o}/quality-issues",
        {"issue_id": "QI-1", "severity": "minor", "category": "looks", "description": S["qi_desc"]},
    )
    api.post(f"{o}/quality-issues/QI-1/resolve", {"resolution": "repair", "note": S["qi_note"]})
    ship(api, o)
    api.post(f"{o}/short-close", {"sku": "B-200", "quantity": 2, "reason": S["short"]})
    api.post(
        f"{o}/invoices", {"invoice_number": "INV-1", "amount": "300.00", "issued_on": "2026-10-21"}
    )
    api.post(
        f"{o}/credit-notes",
        {"credit_note_number": "CN-1", "amount": "10.00", "reason": S["credit"]},
    )
    api.post(
        f"{o}/complaints",
        {
            "complaint_id": "C-1",
            "category": "damage",
            "description": S["c_desc"],
            "contact": S["contact"],
        },
    )
    api.post(
        f"{o}/complaints/C-1/resolve",
        {"resolution": S["c_resolution"], "customer_feedback": S["feedback"]},
    )
    return str(oid)


def ship(api: Client, o: str) -> None:
    lines = [{"sku": "A-100", "quantity": 3}]
    api.post(
        f"{o}/shipments",
        {"shipment_id": "SH-1", "planned_date": "2026-10-10", "lines": lines, "carrier": "SF"},
    )
    api.post(
        f"{o}/shipments/SH-1/reschedule", {"planned_date": "2026-10-11", "reason": S["reschedule"]}
    )
    api.post(
        f"{o}/shipments/SH-1/pack",
        {"packages": 1, "materials": S["materials"], "labels": [S["label"]]},
    )
    for kind in ("dispatch_note", "waybill", "packing_list"):
        api.post(
            f"{o}/shipments/SH-1/documents",
            {"kind": kind, "number": f"{kind}-1", "status": "submitted"},
        )
    api.post(
        f"{o}/shipments/SH-1/documents/packing_list/status",
        {"status": "rejected", "discrepancy": S["discrepancy"]},
    )
    api.post(f"{o}/shipments/SH-1/dispatch", {"tracking_number": "SF1"})
    api.post(
        f"{o}/shipments/SH-1/transit",
        {"status": "delayed", "location": S["location"], "note": S["transit_note"]},
    )
    api.post(f"{o}/shipments/SH-1/deliver", {"received_by": S["received_by"]})


def answers(api: Client, orders: list[str]) -> str:
    """Every API answer and page about the customer's orders and their read models."""
    after = {"after": api.position, "wait": 10}
    texts = [
        api.get("/complaints", **after),
        api.get("/shipments", **after),
        api.get("/board", **after),
        api.get("/backlog", **after),
        api.get("/alerts"),
        api.get("/orders", customer=EVE, **after),
        api.get("/reports/sales", **after),
        api.get(f"/customers/{quote(EVE)}/statement", **after),
        api.get("/audit/archive", **after),
    ]
    for oid in orders:
        texts += [
            api.get(f"/orders/{oid}"),
            api.get(f"/orders/{oid}", version=2),
            api.get(f"/orders/{oid}/history", with_state="true"),
            api.get(f"/audit/orders/{oid}/export"),
            api.get(f"/ui/orders/{oid}"),
        ]
    return "\n".join(texts)


def found(text: str) -> list[str]:
    return sorted(name for name, secret in S.items() if secret in text)


def cli(settings: Settings, *args: str) -> None:
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_AUDIT_KEY": AUDIT_KEY,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()


def backup_text(path: Path) -> str:
    """Every member of a backup, its gzip'd ones unpacked."""
    texts = []
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            texts.append(gzip.decompress(data) if member.name.endswith(".gz") else data)
    return b"\n".join(texts).decode("utf-8", "replace")


def export_text(text: str) -> str:
    """An export's lines, and each event's stored bytes decoded from base64."""
    lines = [json.loads(line) for line in text.splitlines()]
    stored = [base64.b64decode(line["state"]) for line in lines if "state" in line]
    return "\n".join(
        [
            *(json.dumps(line, ensure_ascii=False) for line in lines),
            *(s.decode("utf-8", "replace") for s in stored),
        ]
    )


@pytest.fixture
def api(sql_settings: Settings) -> Iterator[tuple[Client, Any]]:
    settings = sql_settings.model_copy(update={"tokens": TOKENS})
    with TestClient(create_app(settings), raise_server_exceptions=True) as http:
        yield Client(http), http.app


def test_an_erased_customer_leaves_no_personal_text_anywhere(
    api: tuple[Client, Any],
    sql_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client, app = api
    order = eve_order(client)
    cancelled = client.post("/orders", receipt(EVE), "sales")["id"]
    client.post(f"/orders/{cancelled}/cancel", {"reason": S["cancel"]})
    other = client.post("/orders", receipt(OTHER), "sales")["id"]
    client.post(
        f"/orders/{other}/verify",
        {"checks": {"customer": True, "product": True, "delivery": True}},
        "sales",
    )
    client.post(
        f"/orders/{other}/confirm",
        {"promised_date": "2026-10-15", "special_requirements": OTHER_SECRET},
    )
    orders = [order, str(cancelled)]

    assert found(raw_store(sql_settings).decode("utf-8", "replace")) == []  # never in clear
    before = answers(client, orders)
    assert found(before) == sorted(S)  # the API shows it all while the key lives

    erased = client.post(f"/customers/{quote(EVE)}/erase", None, "admin")
    assert sorted(erased["orders"]) == sorted(orders)

    assert found(raw_store(sql_settings).decode("utf-8", "replace")) == []
    after = answers(client, orders)
    assert found(after) == [] and "[erased]" in after
    assert OTHER_SECRET in client.get(f"/orders/{other}")

    out = tmp_path / "out"
    out.mkdir()
    cli(sql_settings, "backup", str(out / "after.backup"))
    cli(sql_settings, "audit", "export", "--customer", EVE, "-o", str(out / "eve.jsonl"))
    assert found(backup_text(out / "after.backup")) == []
    assert found(export_text((out / "eve.jsonl").read_text())) == []
    assert found(caplog.text) == []

    ledger = app.state.ledger
    report = verify_store(ledger)
    assert report.ok, report.findings
    again = client.http.post(
        "/orders",
        json=receipt(EVE),
        headers={"Authorization": "Bearer t-sales", "Idempotency-Key": "eve-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == order and found(again.text) == []
