"""The order page's data: every event with what it changed, and the state at a version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.aggregates.readout import describe
from ledger.api.responses import history_json
from ledger.api.ui.data import chain_check
from ledger.application import Ledger, order_id_for

MAX_TEXT = 160


def resolve_order_id(ref: str) -> UUID:
    """An order id, or an order number (``SO-2026-000123``) which derives it."""
    try:
        return UUID(ref)
    except ValueError:
        return order_id_for(ref.strip().upper())


def order_page(ledger: Ledger, order_id: UUID, version: int | None) -> dict[str, Any]:
    """History, per event what changed, the state at ``version`` (or now), the chain check."""
    history = [history_json(entry) for entry in ledger.history(order_id)]
    latest = history[-1]["version"]
    shown = latest if version is None else max(1, min(version, latest))
    state = describe(ledger.get_order(order_id, version=shown))
    changes = _changes(ledger, order_id)
    events = [
        {**entry, "details": payload_summary(entry["payload"]),
         "changes": changes.get(entry["version"], {}), "future": entry["version"] > shown}
        for entry in history
    ]  # fmt: skip
    return {
        "events": events,
        "latest": latest,
        "shown": shown,
        "state": state,
        "documents": documents_of(state),
        "chain": chain_check(ledger, order_id),
    }


def _changes(ledger: Ledger, order_id: UUID) -> dict[int, dict[str, Any]]:
    """Per version, the derived facts the event changed (the audit replay's diff)."""
    try:
        from ledger.audit.replay import replay
    except ImportError:
        return {}
    return {step.version: step.changes for step in replay(ledger, order_id).steps}


def documents_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"shipment_id": s["shipment_id"], **doc}
        for s in state["shipments"]
        for doc in (s.get("documents") or {}).values()
    ]


def payload_summary(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The event's payload as short (field, text) pairs, empty fields left out."""
    pairs = []
    for key, value in payload.items():
        text = _text(value)
        if text:
            pairs.append((key, text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"))
    return pairs


def _text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        if "sku" in value and "quantity" in value:
            return f"{value['sku']} × {value['quantity']}"
        return ", ".join(f"{k}: {t}" for k, v in value.items() if (t := _text(v)))
    if isinstance(value, list):
        return "; ".join(t for v in value if (t := _text(v)))
    return str(value)
