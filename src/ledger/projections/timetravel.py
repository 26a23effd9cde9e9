"""Read models as they were: fold the events recorded up to a moment, in memory,
with the same evolve code, and query the result like a live view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from eventsourcing.persistence import Tracking

from ledger.projections.backlog import BACKLOG, backlog_report
from ledger.projections.board import BOARD, board_columns
from ledger.projections.checkpoints import EVERY, Checkpoint, CheckpointStore, store_of
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import R, ReadModel, Source, View
from ledger.projections.view_memory import MemoryView

PAGE = 5000
# Recording times follow the log's order only roughly (concurrent writers);
# scanning stops once a whole page is this far past the moment.
SKEW = timedelta(minutes=5)


def fold_until(
    source: Source,
    model: ReadModel[R],
    as_of: datetime,
    store: CheckpointStore | None = None,
    *,
    every: int = EVERY,
) -> dict[str, R]:
    """The model's rows folded from the events recorded at or before ``as_of``.

    With ``store``, the fold starts from the nearest checkpoint whose events
    were all recorded by then (see ``checkpoints``): the same rows as from
    position zero, as every event before it is one the fold takes. It then
    reads on from there; the last complete state it passed (every event so
    far taken) at least ``every`` positions past its start is kept as a new
    checkpoint. Reading stops once ``PAGE`` events in a row were recorded
    more than ``SKEW`` after the moment (counted event by event, so where
    the fold started does not matter)."""
    head = source.head()
    start = store.nearest(model, as_of, head) if store is not None else None
    rows: dict[str, Any] = dict(start.rows) if start is not None else {}
    position = start.position if start is not None else 0
    latest = start.latest if start is not None else None
    complete, kept = True, None
    mark = position + every
    late, beyond = 0, _later(as_of, SKEW)
    decode, evolve, key_of = source.decode, model.evolve, model.key
    while late < PAGE:
        notes = source.recorder.select_notifications(
            position, PAGE, topics=model.topics, inclusive_of_start=False
        )
        if not notes:
            break
        for note in notes:
            event = decode(note)
            moment = event.timestamp
            if moment <= as_of:
                key = key_of(event)
                rows[key] = evolve(rows.get(key), event)
                late = 0
                if complete and (latest is None or moment > latest):
                    latest = moment
            else:
                complete = False
                late = late + 1 if moment > beyond else 0
                if late >= PAGE:
                    break
        position = notes[-1].id
        if complete and position >= mark and latest is not None:
            kept = (position, latest, {k: v for k, v in rows.items() if v is not None})
    if store is not None and kept is not None:
        store.save(model, Checkpoint(*kept))
    return {k: v for k, v in rows.items() if v is not None}


def _later(moment: datetime, delta: timedelta) -> datetime:
    """``moment`` + ``delta``, held at the last representable moment."""
    last = datetime.max.replace(tzinfo=moment.tzinfo)
    return moment + delta if last - moment > delta else last


def view_as_of(
    source: Source,
    model: ReadModel[R],
    as_of: datetime,
    live: View[R] | None = None,
    *,
    checkpoints: bool = True,
) -> MemoryView[R]:
    """An in-memory view of ``model`` as it was at ``as_of``.

    With ``live`` (the model's live view): when no recorded event is later
    than ``as_of`` and the live view has applied the whole log, the model as
    it was then is the live one, and its rows are taken instead of folding
    the whole log again (``GET /board?as_of=<now>``). Otherwise the events
    are folded, from the nearest checkpoint of a ``checkpointed`` model
    (unless ``checkpoints`` is false).
    """
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    current = _live_rows(source, live, as_of) if live is not None else None
    if current is None:
        store = store_of(source.recorder) if checkpoints and model.checkpointed else None
        current = fold_until(source, model, as_of, store)
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
