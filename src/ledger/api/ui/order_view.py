"""The order page's data: every event with what it changed, and the state at a version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from ledger.aggregates.readout import describe
from ledger.api.history import states_after
from ledger.api.responses import history_json
from ledger.api.ui.data import chain_check
from ledger.api.ui.i18n import translator
from ledger.api.ui.i18n_values import FIELDS, field_label, value_label
from ledger.application import Ledger, order_id_for
from ledger.projections.board import card
from ledger.projections.registry import READ_MODELS

MAX_TEXT = 160
TIMELINE = 200
OPEN_EVENTS = 20  # the timeline shows this many newest events; the rest fold away
Label = Callable[[Any], str]


def resolve_order_id(ref: str) -> UUID:
    """An order id, or an order number (``SO-2026-000123``) which derives it."""
    try:
        return UUID(ref)
    except ValueError:
        return order_id_for(ref.strip().upper())


def order_page(
    ledger: Ledger, order_id: UUID, version: int | None, lang: str = "en"
) -> dict[str, Any]:
    """The events around ``version`` (or the latest) with what each changed, the
    state at that version, the chain check. At most ``TIMELINE`` events are
    listed, so a page stays small however long the order's history grows."""
    order = ledger.get_order(order_id)
    latest = order.version
    shown = latest if version is None else max(1, min(version, latest))
    state = describe(order if shown == latest else ledger.get_order(order_id, version=shown))
    start = max(0, min(shown - TIMELINE // 2, latest - TIMELINE))
    history = [history_json(e) for e in ledger.history(order_id, after=start, limit=TIMELINE)]
    steps = states_after(ledger, order_id, start, history[-1]["version"])
    events = [
        {**entry, "details": payload_summary(entry["payload"], lang),
         "changes": {field_label(k, lang): (_shown(a, lang, k), _shown(b, lang, k))
                     for k, (a, b) in changes.items()},
         "future": entry["version"] > shown}
        for entry, (changes, _) in zip(history, steps, strict=True)
    ]  # fmt: skip
    return {
        "events": events,
        "latest": latest,
        "shown": shown,
        "state": state,
        "documents": documents_of(state),
        "chain": chain_check(ledger, order_id),
    }


def documents_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"shipment_id": s["shipment_id"], **doc}
        for s in state["shipments"]
        for doc in (s.get("documents") or {}).values()
    ]


def board_card(ledger: Ledger, order_id: UUID, today: date) -> dict[str, Any] | None:
    """The order's card as the board shows it (flags, next action), folded from
    its own events by the board's model: current even before the board's
    projection has caught up with the last command."""
    model = READ_MODELS["board"]
    row = None
    for event in ledger.events.get(order_id):
        row = model.evolve(row, event)
    return None if row is None else card(row, today)


def payload_summary(payload: dict[str, Any], lang: str = "en") -> list[tuple[str, str]]:
    """The event's payload as short (field label, text) pairs, empty fields left
    out, every field and domain value by its label in ``lang``."""
    pairs = []
    for key, value in payload.items():
        text = _text(value, lang)
        if text:
            short = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
            pairs.append((field_label(key, lang), short))
    return pairs


STAGE_KEYS = ("stage", "progress_stage", "status")


def _shown(value: Any, lang: str, key: str = "") -> str | None:
    if value is None:
        return None
    if key in STAGE_KEYS and isinstance(value, str):
        return translator(lang)(f"stage.{value}")
    return _text(value, lang) or "—"


def _key_label(key: str, lang: str) -> str:
    """A mapping's key: a field's label, or a domain value's (a check area)."""
    return field_label(key, lang) if key in FIELDS else value_label(key, lang)


def _text(value: Any, lang: str) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        if "sku" in value and "quantity" in value:
            return f"{value['sku']} × {value['quantity']}"
        return ", ".join(
            f"{_key_label(str(k), lang)}: {t}" for k, v in value.items() if (t := _text(v, lang))
        )
    if isinstance(value, list):
        return "; ".join(t for v in value if (t := _text(v, lang)))
    return value_label(value, lang)
