"""Both roads of every declared command (ledger.api.commands): FastAPI's own
solver and the direct road (ledger.api.fastpath) take the same inputs and give
the same answers. Every declaration is sent, well-formed and with each kind of
refusal, to an app on the direct road and to one on FastAPI's road only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import fastapi.routing
import pytest
from api_client import ALL_CHECKS, TOKENS, receipt
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from ledger.api.app import create_app
from ledger.api.commands import BY_NAME, COMMANDS, CommandDeclaration
from ledger.api.fastpath import CommandRoute, fast_command
from ledger.api.routes import ROUTERS
from ledger.settings import Settings

M = {"Authorization": "Bearer t-merchandiser"}
SKU, SKU2 = "A-100", "B-200"
# One well-formed body per command, in an order that moves an order along.
SAMPLES: dict[str, dict[str, Any]] = {
    "receive": receipt(),
    "amend": {"reason": "customer asked", "requested_date": "2026-10-30"},
    "verify": {"checks": ALL_CHECKS},
    "confirm": {"promised_date": "2026-10-01"},
    "promise_date": {"promised_date": "2026-10-05", "reason": "parts are late"},
    "allocate_stock": {"sku": SKU, "quantity": 1, "warehouse": "W1"},
    "release_stock": {"sku": SKU, "quantity": 1, "warehouse": "W1"},
    "order_purchase": {
        "po_number": "PO-1",
        "supplier": "Acme",
        "items": [{"part": "lid", "quantity": 5}],
    },
    "receive_purchase": {"accepted": 5},
    "progress_production": {"stage": "cutting", "percent": 50},
    "complete_production": {},
    "raise_quality_issue": {
        "issue_id": "QI-1",
        "severity": "minor",
        "category": "paint",
        "description": "scratch",
    },
    "resolve_quality_issue": {"resolution": "repair"},
    "schedule_shipment": {
        "shipment_id": "SH-1",
        "planned_date": "2026-09-20",
        "lines": [{"sku": SKU, "quantity": 3}],
    },
    "reschedule_shipment": {"planned_date": "2026-09-21", "reason": "no truck"},
    "pack": {"packages": 2, "labels": ["易碎"]},
    "issue_document": {"kind": "waybill", "number": "WB-1", "status": "submitted"},
    "change_document_status": {"status": "cleared"},
    "dispatch": {"tracking_number": "T-1"},
    "update_transit": {"status": "in_transit", "location": "杭州"},
    "deliver": {"received_by": "王五"},
    "invoice": {"invoice_number": "INV-1", "amount": "300.00", "issued_on": "2026-09-25"},
    "issue_credit_note": {"credit_note_number": "CN-1", "amount": "1.00", "reason": "dent"},
    "receive_payment": {"reference": "P-1", "amount": "299.00", "received_on": "2026-09-26"},
    "file_complaint": {"complaint_id": "C-1", "category": "late", "description": "two days late"},
    "resolve_complaint": {"resolution": "apologised"},
    "short_close": {"sku": SKU2, "quantity": 2, "reason": "discontinued"},
    "hold": {"reason": "credit check"},
    "release": {"reason": "paid"},
    "settle": {},
    "archive": {"archive_ref": "box 1"},
    "cancel": {"reason": "customer"},
    "split": {"parts": [[{"sku": SKU, "quantity": 1}], [{"sku": SKU2, "quantity": 1}]]},
    "merge": {"order_ids": ["{id}", "{id}"]},
}
IDS = {"shipment_id": "SH-1", "po_number": "PO-1", "issue_id": "QI-1", "complaint_id": "C-1",
       "kind": "waybill"}  # fmt: skip
# Set by the server itself, so they differ between two apps.
_MOMENTS = ("stage_reached", "position", "promises")


def _client(standard_only: bool) -> Iterator[TestClient]:
    app: FastAPI = create_app(Settings(database_url="memory://", tokens=TOKENS))
    if standard_only:  # any override sends every request down FastAPI's own handler
        app.dependency_overrides[_unused] = _unused
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


def _unused() -> None:  # pragma: no cover - never called, only overridden
    raise AssertionError


@pytest.fixture
def fast() -> Iterator[TestClient]:
    yield from _client(False)


@pytest.fixture
def standard() -> Iterator[TestClient]:
    yield from _client(True)


@pytest.fixture
def solver_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times FastAPI's dependency solver ran (one entry per call)."""
    calls: list[int] = []
    solve = fastapi.routing.solve_dependencies  # type: ignore[attr-defined]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    return calls


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _scrub(v) for k, v in value.items() if k not in _MOMENTS and not k.endswith("_at")
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _answer(response: Any) -> tuple[int, Any, dict[str, str | None]]:
    headers = {h: response.headers.get(h) for h in ("etag", "location", "idempotent-replayed")}
    return response.status_code, _scrub(response.json()), headers


def _url(declared: CommandDeclaration[Any], order_id: str) -> str:
    return declared.path.format(order_id=order_id, **IDS)


def _routes(routers: Any) -> Iterator[APIRoute]:
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from _routes([route.original_router])


def test_every_declared_command_is_one_route_with_a_direct_road() -> None:
    routes = {(r.path, m): r for r in _routes(ROUTERS) for m in r.methods or ()}
    for declared in COMMANDS:
        route = routes[(declared.path, declared.method)]
        assert isinstance(route, CommandRoute), declared.name
        assert route.name == declared.endpoint and route.status_code in (None, 201)
        assert fast_command(route) is not None, declared.name
    assert set(SAMPLES) == set(BY_NAME)


def test_well_formed_commands_take_the_direct_road_and_answer_alike(
    fast: TestClient, standard: TestClient, solver_calls: list[int]
) -> None:
    ids = {}
    for name, client in (("fast", fast), ("standard", standard)):
        created = client.post("/orders", json=receipt(), headers={**M, "X-Correlation-Id": "c"})
        assert created.status_code == 201
        ids[name] = created.json()["id"]
    for command_name, sample in SAMPLES.items():
        declared = BY_NAME[command_name]
        answers = []
        for name, client in (("fast", fast), ("standard", standard)):
            version = client.get(f"/orders/{ids[name]}", headers=M).headers["etag"]
            headers = {
                **M,
                "If-Match": version,
                "Idempotency-Key": f"key-{command_name}",
                "X-Correlation-Id": f"corr-{command_name}",
                "X-Causation-Id": f"cause-{command_name}",
                "X-Reason": f"why {command_name}",
            }
            body = {k: ([ids[name]] * 2 if v == ["{id}", "{id}"] else v) for k, v in sample.items()}
            before = len(solver_calls)
            response = client.post(_url(declared, ids[name]), json=body, headers=headers)
            assert response.status_code < 500, response.text
            took_solver = len(solver_calls) > before
            assert took_solver == (name == "standard"), (command_name, name, response.text)
            answers.append(_answer(response))
        assert answers[0] == answers[1], command_name
    histories = [
        _scrub(client.get(f"/orders/{ids[name]}/history", headers=M).json())
        for name, client in (("fast", fast), ("standard", standard))
    ]
    assert histories[0] == histories[1]
    by_reason = {entry["reason"] for entry in histories[0]}
    assert len(histories[0]) > 20  # most of the samples were recorded, not refused
    assert {e["correlation_id"] for e in histories[0]} >= {"corr-verify", "corr-pack"}
    assert "why hold" not in by_reason  # a body's reason wins over X-Reason
    assert "why pack" in by_reason


ABSENT = "00000000-0000-4000-8000-000000000001"
REFUSALS: list[tuple[str, dict[str, str], Any]] = [
    ("no token", {}, None),
    ("unknown token", {"Authorization": "Bearer nobody"}, None),
    ("a role without the permission", {"Authorization": "Bearer t-auditor"}, None),
    ("X-Reason too long", {**M, "X-Reason": "x" * 501}, None),
    ("If-Match not a version", {**M, "If-Match": "three"}, None),
    ("Idempotency-Key with a space", {**M, "Idempotency-Key": "a b"}, None),
    ("an unknown field", M, {"unexpected": 1}),
    ("a JSON array", M, []),
    ("not JSON", {**M, "Content-Type": "application/json"}, b"{not json"),
    ("not a UUID", M, "not-a-uuid"),
    ("an unknown order", M, "00000000-0000-4000-8000-000000000000"),
]


def test_every_refusal_is_answered_alike(fast: TestClient, standard: TestClient) -> None:
    for case, headers, change in REFUSALS:
        for declared in COMMANDS:
            if isinstance(change, str) and "{order_id}" not in declared.path:
                continue
            answers = []
            for client in (fast, standard):
                order_id = change if isinstance(change, str) else ABSENT
                url = _url(declared, order_id)
                if isinstance(change, bytes):
                    response = client.post(url, content=change, headers=headers)
                else:
                    body = (
                        SAMPLES[declared.name]
                        if change is None or isinstance(change, str)
                        else change
                    )
                    response = client.post(url, json=body, headers=headers)
                assert 400 <= response.status_code < 500, (declared.name, case, response.text)
                answers.append((response.status_code, response.json()))
            assert answers[0] == answers[1], (declared.name, case)


class _Extra(BaseModel):
    note: str


async def _extra_ctx(x_extra: Annotated[str, Header(max_length=5)]) -> str:
    return x_extra


def test_a_header_added_to_a_route_dependency_reaches_the_direct_road(
    solver_calls: list[int],
) -> None:
    """What makes ``command_ctx`` safe to extend: the direct road reads every
    header a dependency declares, with its limits, as FastAPI does."""
    router = APIRouter(route_class=CommandRoute)

    async def endpoint(body: _Extra, extra: Annotated[str, Depends(_extra_ctx)]) -> JSONResponse:
        return JSONResponse({"note": body.note, "extra": extra})

    router.add_api_route("/probe", endpoint, methods=["POST"])
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        ok = client.post("/probe", json={"note": "n"}, headers={"X-Extra": "abc"})
        assert ok.json() == {"note": "n", "extra": "abc"} and not solver_calls
        too_long = client.post("/probe", json={"note": "n"}, headers={"X-Extra": "abcdef"})
        missing = client.post("/probe", json={"note": "n"})
        assert (too_long.status_code, missing.status_code) == (422, 422)
        assert len(solver_calls) == 2  # refused by FastAPI's own handler, in its words
