"""Replay: each event of an order with what it changed, ending in the state then.

The diff compares the derived facets auditors read (stage, status, hold,
quantities, amounts, open issues, promised date) before and after each
event, computed with the same ``describe`` the API answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.aggregates.readout import describe
from ledger.application import Ledger, OrderNotFound
from ledger.audit.plain import jsonable

Change = tuple[Any, Any]
FACET_KEYS = ("stage", "progress_stage", "status", "on_hold", "latest_promised_date")


def facets_of(state: dict[str, Any] | None) -> dict[str, Any]:
    """The flat facets of a ``describe`` output (empty before the first event)."""
    if state is None:
        return {}
    flat = {key: state[key] for key in FACET_KEYS}
    flat.update(state["facets"])
    flat["open_quality_issues"] = sum(1 for q in state["quality_issues"] if q["status"] == "open")
    flat["open_complaints"] = sum(1 for c in state["complaints"] if c["status"] == "open")
    return flat


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Change]:
    return {
        key: (before.get(key), value) for key, value in after.items() if before.get(key) != value
    }


@dataclass(frozen=True)
class Step:
    """One replayed event: who, when, what, and what it changed."""

    version: int
    type: str
    recorded_at: str
    occurred_at: str
    actor: str
    reason: str
    changes: dict[str, Change]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "type": self.type,
            "recorded_at": self.recorded_at,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "reason": self.reason,
            "changes": {k: {"from": a, "to": b} for k, (a, b) in self.changes.items()},
        }


@dataclass(frozen=True)
class Replay:
    steps: list[Step]
    state: dict[str, Any]
    states: list[dict[str, Any]]  # after each step, when asked for

    def as_json(self) -> dict[str, Any]:
        return {"steps": [s.as_json() for s in self.steps], "state": self.state}


def replay(
    ledger: Ledger,
    order_id: UUID,
    *,
    until: datetime | None = None,
    version: int | None = None,
    keep_states: bool = False,
) -> Replay:
    """The order's events up to ``until`` (recorded time) or ``version``, each with its diff."""
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    order: Any = None
    before: dict[str, Any] = {}
    steps: list[Step] = []
    states: list[dict[str, Any]] = []
    for stored in ledger.events.get(order_id, lte=version):
        event: Any = stored
        if until is not None and event.timestamp > until:
            break
        order = event.mutate(order)
        state = describe(order)
        after = facets_of(state)
        if keep_states:
            states.append(jsonable(state))
        meta = dict(getattr(event, "meta", {}) or {})
        recorded = event.timestamp.isoformat()
        steps.append(
            Step(
                version=event.originator_version,
                type=type(event).__name__,
                recorded_at=recorded,
                occurred_at=str(meta.get("occurred_at") or recorded),
                actor=str(meta.get("actor", "")),
                reason=str(meta.get("reason", "")),
                changes={
                    k: (jsonable(a), jsonable(b)) for k, (a, b) in diff(before, after).items()
                },
            )
        )
        before = after
    if order is None:
        raise OrderNotFound(f"no order {order_id} at that point", order_id=str(order_id))
    return Replay(steps, jsonable(describe(order)), states)
