"""Read models as they were: fold the events recorded up to a moment, in memory,
with the same evolve code, and query the result like a live view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from eventsourcing.persistence import Tracking

from ledger.projections.backlog import BACKLOG, backlog_report
from ledger.projections.board import BOARD, board_columns
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import R, ReadModel, Source, View, fold_events
from ledger.projections.view_memory import MemoryView

PAGE = 5000
# Recording times follow the log's order only roughly (concurrent writers);
# scanning stops once a whole page is this far past the moment.
SKEW = timedelta(minutes=5)


def events_until(source: Source, as_of: datetime, topics: tuple[str, ...]) -> Iterator[Any]:
    """The model's events recorded at or before ``as_of``, in log order.

    Read in this thread: a reader thread (``read_pages``) made this slower
    (its socket reads wait for the interpreter lock held by the decoding)."""
    position = 0
    while True:
        notes = source.recorder.select_notifications(
            position, PAGE, topics=topics, inclusive_of_start=False
        )
        if not notes:
            return
        events: list[Any] = [source.decode(n) for n in notes]
        yield from (e for e in events if e.timestamp <= as_of)
        if min(e.timestamp for e in events) > as_of + SKEW:
            return
        position = notes[-1].id


def view_as_of(
    source: Source, model: ReadModel[R], as_of: datetime, live: View[R] | None = None
) -> MemoryView[R]:
    """An in-memory view of ``model`` as it was at ``as_of``.

    With ``live`` (the model's live view): when no recorded event is later
    than ``as_of`` and the live view has applied the whole log, the model as
    it was then is the live one, and its rows are taken instead of folding
    the whole log again (``GET /board?as_of=<now>``).
    """
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    current = _live_rows(source, live, as_of) if live is not None else None
    if current is None:
        current = fold_events(model, events_until(source, as_of, model.topics))
    view: MemoryView[R] = MemoryView(model, f"{model.name}_as_of")
    view.write(current, Tracking(source.name, source.head() or 1), expected=None)
    return view


LATEST = 2000
"""How many of the latest events are checked against the moment. An earlier
event stamped after all of them would have had to be recorded while all
of them were being written: more commands at once than the service runs."""


def _live_rows(source: Source, live: View[R], as_of: datetime) -> dict[str, R] | None:
    """The live view's rows if they are the model at ``as_of``, else None."""
    head = source.head()
    if not head or (live.max_tracking_id(source.name) or 0) != head:
        return None
    notes = source.recorder.select_notifications(max(head - LATEST + 1, 1), LATEST)
    if any(source.decode(n).timestamp > as_of for n in notes):
        return None
    rows = live.select()
    if (live.max_tracking_id(source.name) or 0) != head:
        return None  # it moved on while being read
    return {str(cast(Any, row).order_id): row for row in rows}  # order-keyed models


def board_as_of(app: Any, as_of: datetime, **query: Any) -> dict[str, Any]:
    """The board as it was at ``as_of`` (overdue judged on that day)."""
    view: MemoryView[OrderFacts] = view_as_of(Source.of(app), BOARD, as_of)
    result = board_columns(view, today=as_of.date(), **query)
    result["as_of"] = as_of.isoformat()
    return result


def backlog_as_of(
    app: Any,
    as_of: datetime,
    *,
    stale_days: int,
    live: View[OrderFacts] | None = None,
    **query: Any,
) -> dict[str, Any]:
    """The backlog as it was at ``as_of``."""
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    view = view_as_of(Source.of(app), BACKLOG, as_of, live)
    return backlog_report(view, now=as_of, stale_days=stale_days, **query)
