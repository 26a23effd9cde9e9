"""Audit: verify the hash chain, seal it, export an order, erase a customer's personal data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse

from ledger.api.deps import LedgerDep, OrderId, allow
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.params import CleanText
from ledger.api.responses import ErrorOut, FastJSON
from ledger.application import OrderNotFound
from ledger.audit.erasure import erase_customer as erase
from ledger.audit.export import export_lines
from ledger.audit.keys import AuditKeyProblem
from ledger.audit.service import seal, verify_store

T = TypeVar("T")
NO_KEY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "no usable audit key (PostgreSQL without LEDGER_AUDIT_KEY, or a short key)",
    }
}
router = APIRouter(tags=["audit"], responses={**READ_ERRORS, **NO_KEY})


def keyed(run: Callable[[], T]) -> T:
    """Run an audit action; without an audit key, answer 503 saying which setting is missing."""
    try:
        return run()
    except AuditKeyProblem as e:
        raise ApiError(503, e.code, str(e)) from None


@router.get("/audit/verify", dependencies=[allow("audit")])
def audit_verify(
    ledger: LedgerDep, order: Annotated[UUID | None, Query(description="only this order")] = None
) -> Response:
    """Check every order's hash chain and seals (or one order's); every break is
    named by order and version. A clean store reports what was checked."""
    report = keyed(lambda: verify_store(ledger, order))
    return FastJSON(report.as_json())


@router.post("/audit/seal", dependencies=[allow("audit")])
def audit_seal(ledger: LedgerDep) -> Response:
    """Verify, then seal the chain head of every clean order that moved since its last seal."""
    report, sealed = keyed(lambda: seal(ledger))
    return FastJSON({"sealed": sealed, **report.as_json()})


JSON_LINES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one JSON object per line: the events, then the manifest",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/audit/orders/{order_id}/export",
    dependencies=[allow("audit")],
    response_class=StreamingResponse,
    responses=JSON_LINES,
)
def audit_export(order_id: OrderId, ledger: LedgerDep) -> Response:
    """The order's history as JSON Lines with its chain, then a sealed manifest line;
    check it offline with ``ledger audit verify --file``."""
    ledger.get_order(order_id)  # 404 before streaming starts
    lines: Iterator[bytes] = keyed(lambda: iter(list(export_lines(ledger, [order_id]))))
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="order-{order_id}.jsonl"'},
    )


@router.post("/customers/{name}/erase", dependencies=[allow("admin")])
def erase_customer(
    name: Annotated[CleanText, Path(min_length=1, max_length=200)], ledger: LedgerDep
) -> Response:
    """Destroy the customer's personal-data key and record ``PersonalDataErased`` on
    each of their orders: phone, email and addresses then read as "[erased]"."""
    try:
        orders = erase(ledger, name)
    except OrderNotFound:
        raise ApiError(404, "customer_not_found", f"no orders of customer {name!r}") from None
    return FastJSON({"customer": name, "orders": [str(o) for o in orders]})
