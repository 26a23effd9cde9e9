"""A read model's health as operators read it: position, lag, rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.projections.framework import Source, View


def lag_seconds(source: Source, position: int, head: int, now: datetime) -> float:
    """Age of the oldest event the view has not applied yet (0 when caught up)."""
    if position >= head:
        return 0.0
    notes = source.recorder.select_notifications(position, 1, stop=head, inclusive_of_start=False)
    if not notes:
        return 0.0
    event: Any = source.mapper.to_domain_event(notes[0])
    recorded: datetime = event.timestamp
    return max(0.0, round((now - recorded).total_seconds(), 3))


def model_status(
    name: str,
    view: View[Any],
    source: Source,
    head: int,
    now: datetime,
    runner: Any,
    rebuilt: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """What ``GET /admin/projections`` shows for one read model."""
    position = view.max_tracking_id(source.name) or 0
    return {
        "name": name,
        "position": position,
        "head": head,
        "lag_events": max(0, head - position),
        "lag_seconds": lag_seconds(source, position, head, now),
        "rows": view.count(),
        "last_rebuild": rebuilt.get(name),
        "runner": "elsewhere" if runner is None else "running" if runner.alive else "stopped",
        "error": None if runner is None or runner.error is None else str(runner.error),
    }
