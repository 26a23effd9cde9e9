"""The direct road for well-formed commands (ledger.api.fastpath) answers
exactly as FastAPI's own handler: same statuses, bodies and headers, for
valid commands and for every kind of refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest
from api_client import ALL_CHECKS, TOKENS, receipt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.settings import Settings

M = {"Authorization": "Bearer t-merchandiser"}
# Set by the server itself, so they differ between two apps.
_MOMENTS = ("created_at", "modified_at", "stage_reached", "position", "promises")


def _unused() -> None:  # pragma: no cover - never called, only overridden
    raise AssertionError


def _client(standard_only: bool) -> Iterator[TestClient]:
    app: FastAPI = create_app(Settings(database_url="memory://", tokens=TOKENS))
    if standard_only:  # any override sends every request down FastAPI's own handler
        app.dependency_overrides[_unused] = _unused
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@pytest.fixture
def fast() -> Iterator[TestClient]:
    yield from _client(False)


@pytest.fixture
def standard() -> Iterator[TestClient]:
    yield from _client(True)


def _answer(response: Any) -> tuple[int, Any, dict[str, str | None]]:
    body = response.json()
    if isinstance(body, dict) and "id" in body:
        body = {k: v for k, v in body.items() if k not in _MOMENTS}
    headers = {h: response.headers.get(h) for h in ("etag", "location", "idempotent-replayed")}
    return response.status_code, body, headers


# (path, json body or raw bytes, headers), sent in this order to both apps.
VERIFY = {"checks": ALL_CHECKS}
CASES: list[tuple[str, Any, dict[str, str]]] = [
    ("/orders", receipt(), M),
    ("/orders", receipt(), {**M, "Idempotency-Key": "k-1", "X-Correlation-Id": "c-1"}),
    ("/orders", receipt(), {**M, "Idempotency-Key": "k-1", "X-Correlation-Id": "c-1"}),
    ("/orders", receipt(channel="fax"), {**M, "Idempotency-Key": "k-1"}),
    ("/orders", receipt(), {**M, "Idempotency-Key": "bad key"}),
    ("/orders", receipt(), {**M, "Idempotency-Key": ""}),
    ("/orders", receipt(), {**M, "X-Reason": "x" * 501}),
    ("/orders", receipt(), {**M, "X-Reason": ""}),
    ("/orders", receipt(lines=[]), M),
    ("/orders", receipt(), {}),
    ("/orders", receipt(), {"Authorization": "Bearer nobody"}),
    ("/orders", receipt(), {"Authorization": "Basic t-merchandiser"}),
    ("/orders", receipt(), {"Authorization": "Bearer t-warehouse"}),
    ("/orders", b"{not json", {**M, "Content-Type": "application/json"}),
    ("/orders", b"", {**M, "Content-Type": "application/json"}),
    ("/orders", b'{"channel": "phone"}', {**M, "Content-Type": "text/plain"}),
    ("/orders/{id}/verify", VERIFY, {**M, "If-Match": '"1"', "X-Reason": "checked"}),
    ("/orders/{id}/verify", VERIFY, {**M, "If-Match": '"1"'}),
    ("/orders/{id}/verify", VERIFY, {**M, "If-Match": "three"}),
    ("/orders/{id}/verify", {"checks": "yes"}, M),
    ("/orders/not-a-uuid/verify", VERIFY, M),
    ("/orders/00000000-0000-0000-0000-000000000000/verify", VERIFY, M),
    ("/orders/{id}/promises", {"promised_date": "2026-10-01", "reason": "agreed"}, M),
    ("/orders/{id}/promises", {"promised_date": "2026-10-01"}, {**M, "X-Causation-Id": "c"}),
    # ``def`` routes of the other command routers
    ("/orders/{id}/hold", {"reason": "credit check"}, {**M, "If-Match": '"2"'}),
    ("/orders/{id}/hold", {"reason": "again"}, M),
    ("/orders/{id}/release", {"reason": "cleared"}, {"Authorization": "Bearer t-warehouse"}),
    ("/orders/{id}/release", {"reason": "cleared", "occurred_at": "2026-09-01T08:00:00"}, M),
    ("/orders/{id}/invoices", {"invoice_no": "INV-1"}, {"Authorization": "Bearer t-finance"}),
]


def test_every_case_is_answered_alike(fast: TestClient, standard: TestClient) -> None:
    first: dict[str, str] = {}
    for path, body, headers in CASES:
        answers = []
        for name, client in (("fast", fast), ("standard", standard)):
            url = path.replace("{id}", first.get(name, "x"))
            if isinstance(body, bytes):
                response = client.post(url, content=body, headers=headers)
            else:
                response = client.post(url, json=body, headers=headers)
            assert response.status_code < 500, response.text
            if response.status_code == 201 and name not in first:
                first[name] = response.json()["id"]
            answers.append(_answer(response))
        assert answers[0] == answers[1], (path, headers)
    assert first["fast"] == first["standard"]


def test_a_well_formed_command_skips_fastapis_dependency_solver(
    fast: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("FastAPI's solver was used")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    created = fast.post("/orders", json=receipt(), headers={**M, "Idempotency-Key": "k"})
    assert created.status_code == 201
    assert created.headers["location"] == f"/orders/{created.json()['id']}"
    verified = fast.post(
        f"/orders/{created.json()['id']}/verify", json=VERIFY, headers={**M, "If-Match": '"1"'}
    )
    assert (verified.status_code, verified.json()["status"]) == (200, "verified")
    assert verified.headers["etag"] == '"2"'
    held = fast.post(f"/orders/{created.json()['id']}/hold", json={"reason": "check"}, headers=M)
    assert (held.status_code, held.json()["on_hold"]) == (200, True)  # a ``def`` route
    with pytest.raises(AssertionError, match="solver was used"):  # a refusal takes FastAPI's road
        fast.post("/orders", json=receipt(), headers={"Authorization": "Bearer nobody"})
