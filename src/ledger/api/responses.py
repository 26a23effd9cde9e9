"""Response models (for the OpenAPI document) and the helpers that render them.

Routes return ready-made JSON responses built from ``describe(order)``:
the models below document that shape without validating it a second time.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe, plain
from ledger.application import HistoryEntry, Result

Records = list[dict[str, Any]]


class FastJSON(JSONResponse):
    """JSON rendered by orjson: non-ASCII text stays readable, and it is quick."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ErrorOut(BaseModel):
    """Every 4xx (and the 5xx safety net) has this shape."""

    code: str = Field(description="stable snake_case identifier to switch on")
    message: str
    details: Any = None


class LiveOut(BaseModel):
    """Liveness: the process answers (``GET /health/live``)."""

    status: str = Field(description='always "ok"')


class OrderOut(BaseModel):
    """An order's state; after a command also the store position of its last event."""

    model_config = ConfigDict(extra="allow")

    id: str
    number: str
    version: int
    stage: str
    progress_stage: str
    status: str
    on_hold: bool
    hold_reason: str
    channel: str
    customer: dict[str, Any]
    currency: str
    delivery: dict[str, Any]
    requested_date: str | None
    original_promised_date: str | None
    latest_promised_date: str | None
    promises: Records
    payment_terms: dict[str, Any] | None
    invoice_info: dict[str, Any]
    special_requirements: str
    contract_ref: str
    checks: dict[str, bool]
    problems: list[str]
    lines: Records
    facets: dict[str, Any]
    shipments: Records
    purchases: Records
    production: dict[str, Any]
    quality_issues: Records
    complaints: Records
    invoices: Records
    credit_notes: Records
    payments: Records
    split_from: str | None
    split_into: list[str]
    merged_from: list[str]
    merged_into: str | None
    cancel_reason: str | None
    archive_ref: str | None
    stage_reached: dict[str, Any]
    created_at: str | None
    modified_at: str | None
    position: int | None = Field(
        None, description="notification id of the last event written (null on reads and repeats)"
    )


class OrderPage(BaseModel):
    """Orders found by a search."""

    items: list[OrderOut]
    count: int


class HistoryEntryOut(BaseModel):
    """One stored event with who, when and why."""

    type: str
    version: int
    recorded_at: str
    occurred_at: str
    actor: str
    correlation_id: str
    causation_id: str
    reason: str
    payload: dict[str, Any]
    # With ?with_state=true: what the event changed ({facet: {from, to}}) and the state after.
    changes: dict[str, Any] | None = None
    state: dict[str, Any] | None = None


class HistoryPageOut(BaseModel):
    """A page of the history (asked for with ``?limit=`` or ``?after=``)."""

    items: list[HistoryEntryOut]
    limit: int
    after: int = Field(description="the version the page starts after")
    next: int | None = Field(description="pass as ?after= for the next page; null at the end")


class HealthOut(BaseModel):
    status: str
    store: str


def etag(version: int) -> str:
    return f'"{version}"'


def order_json(order: Order, position: int | None = None) -> dict[str, Any]:
    return {**describe(order), "position": position}


def order_response(result: Result, *, status_code: int = 200, location: bool = False) -> FastJSON:
    """A command's answer: the order's new state, its ETag, and a Location when created."""
    headers = {"ETag": etag(result.version)}
    if location:
        headers["Location"] = f"/orders/{result.order.id}"
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return FastJSON(order_json(result.order, result.position), status_code, headers)


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    recorded = entry.recorded_at.isoformat()
    meta = entry.meta
    return {
        "type": entry.type,
        "version": entry.version,
        "recorded_at": recorded,
        "occurred_at": str(meta.get("occurred_at") or recorded),
        "actor": str(meta.get("actor", "")),
        "correlation_id": str(meta.get("correlation_id", "")),
        "causation_id": str(meta.get("causation_id", "")),
        "reason": str(meta.get("reason", "")),
        "payload": plain(entry.payload),
    }
