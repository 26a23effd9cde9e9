"""Read models as they were: fold the events recorded up to a moment, in memory,
with the same evolve code, and query the result like a live view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import Tracking

from ledger.projections.backlog import BACKLOG, backlog_report
from ledger.projections.board import BOARD, board_columns
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import R, ReadModel, Source, fold_events
from ledger.projections.view_memory import MemoryView

PAGE = 5000
# Recording times follow the log's order only roughly (concurrent writers);
# scanning stops once a whole page is this far past the moment.
SKEW = timedelta(minutes=5)


def events_until(source: Source, as_of: datetime, topics: tuple[str, ...]) -> Iterator[Any]:
    """The model's events recorded at or before ``as_of``, in log order."""
    position = 0
    while True:
        notes = source.recorder.select_notifications(
            position, PAGE, topics=topics, inclusive_of_start=False
        )
        if not notes:
            return
        events: list[Any] = [source.mapper.to_domain_event(n) for n in notes]
        yield from (e for e in events if e.timestamp <= as_of)
        if min(e.timestamp for e in events) > as_of + SKEW:
            return
        position = notes[-1].id


def view_as_of(source: Source, model: ReadModel[R], as_of: datetime) -> MemoryView[R]:
    """An in-memory view of ``model`` as it was at ``as_of``."""
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    rows = fold_events(model, events_until(source, as_of, model.topics))
    view: MemoryView[R] = MemoryView(model, f"{model.name}_as_of")
    view.write(rows, Tracking(source.name, source.head() or 1), expected=None)
    return view


def board_as_of(app: Any, as_of: datetime, **query: Any) -> dict[str, Any]:
    """The board as it was at ``as_of`` (overdue judged on that day)."""
    view: MemoryView[OrderFacts] = view_as_of(Source.of(app), BOARD, as_of)
    result = board_columns(view, today=as_of.date(), **query)
    result["as_of"] = as_of.isoformat()
    return result


def backlog_as_of(app: Any, as_of: datetime, *, stale_days: int, **query: Any) -> dict[str, Any]:
    """The backlog as it was at ``as_of``."""
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    view: MemoryView[OrderFacts] = view_as_of(Source.of(app), BACKLOG, as_of)
    return backlog_report(view, now=as_of, stale_days=stale_days, **query)
