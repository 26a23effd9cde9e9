"""Bulk fill: empty views built from position zero in one pass over the log,
keeping the checkpoints of the time-travel models as it goes (``checkpoints``).

What a rebuild (``runner.rebuild_many``) and a runner's first start do; the
folds are the read models' own (``framework``), so the result equals
``catch_up`` from zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Tracking

from ledger.collection import few_collections
from ledger.projections import checkpoints
from ledger.projections.checkpoints import EPOCH, Checkpoint, store_of
from ledger.projections.framework import (
    DEFAULT_PAGE,
    Part,
    ReadModel,
    Source,
    View,
    catch_up,
    fold_page,
    read_pages,
)


def fill(
    views: Sequence[View[Any]],
    source: Source,
    *,
    page: int = DEFAULT_PAGE,
    until: int | None = None,
    on_page: Callable[[int, int], None] | None = None,
    part: Part | None = None,
    others: Callable[[], None] | None = None,
) -> int:
    """Build empty views from position zero to ``until`` (default: the head
    now) in one pass over the log: each event is read and decoded once, folded
    into every view's rows in memory, and each view's rows are written once at
    the end, with the position, by ``View.fill``. Returns that position.

    The result equals ``catch_up`` from zero: the same folds, in log order.

    ``part`` ``(i, n)``: only the orders of part ``i`` of ``n`` (every read
    model's rows are keyed by order, so the parts' rows are disjoint and their
    union is the whole). Part 0 records the position and merges the other
    parts' checkpoints into whole ones; ``others`` (part 0's) waits for the
    other parts to finish, and raises if one failed.

    A model that appends (``ReadModel.appends``: a row per event) is written
    page by page instead: its rows would not fit in memory. Whole, it is caught
    up (a page and its position per transaction, so a first start cut short
    goes on where it stopped); in parts, each part appends the rows of its
    own orders' events (keyed by position, so disjoint) to the shadow, and
    part 0 records the position.
    """
    head = source.head() if until is None else until
    if not head or not views:
        return head
    appending = [view for view in views if view.model.appends]
    if appending:
        views = [view for view in views if not view.model.appends]
        _append(appending, source, head, page, part, on_page)
        if not views:
            if others is not None:
                others()
            return head
    models = [view.model for view in views]
    wanted = [frozenset(model.topics) for model in models]
    topics: list[str] = sorted(set().union(*wanted)) if all(wanted) else []
    rows: list[dict[str, Any]] = [{} for _ in views]
    by_order = [type(model).key is ReadModel.key for model in models]
    folds = list(zip(models, wanted, rows, by_order, strict=True))
    keeper = _Keeper(source, models, rows, part)
    lead = part is None or part[0] == 0
    with few_collections():  # every view's rows stay alive until the end
        _fold_all(source, topics, head, page, folds, keeper, on_page, part)
        for view, rows_of in zip(views, rows, strict=True):
            kept = {key: row for key, row in rows_of.items() if row is not None}
            view.fill(kept, Tracking(source.name, head) if lead else None)
        if others is not None:
            others()
        keeper.save()
    return head


def _append(
    views: Sequence[View[Any]],
    source: Source,
    head: int,
    page: int,
    part: Part | None,
    on_page: Callable[[int, int], None] | None,
) -> None:
    """Appending models' rows up to ``head``, a page per write: whole, caught
    up; in parts, ``part``'s events' rows, and part 0 records the position."""
    for view in views:
        if part is None:
            catch_up(view, source, page=page, until=head, on_page=on_page)
            continue
        model = view.model
        decode = source.decoder_of(model)
        for notes in read_pages(source, sorted(model.topics), head, page, part):
            rows = fold_page(model, {}, map(decode, notes))
            view.fill({key: row for key, row in rows.items() if row is not None}, None)
            if on_page is not None:
                on_page(notes[-1].id, head)
        if part[0] == 0:
            view.fill({}, Tracking(source.name, head))


def _fold_all(
    source: Source,
    topics: Sequence[str],
    head: int,
    page: int,
    folds: list[tuple[ReadModel[Any], frozenset[str], dict[str, Any], bool]],
    keeper: _Keeper,
    on_page: Callable[[int, int], None] | None,
    part: Part | None,
) -> None:
    """``fill``'s pass over the log: every event folded into every view's rows."""
    decode = source.decode
    texts: dict[Any, str] = {}  # order ids as text, made once per order
    mark = keeper.mark
    latest = None
    for notes in read_pages(source, topics, head, page, part):
        for note in notes:
            if note.id > mark:  # the rows now are those of the events up to the mark
                mark = keeper.take(note.id, latest)
            event = decode(note)
            order = texts.get(event.originator_id)
            if order is None:
                order = texts[event.originator_id] = str(event.originator_id)
            for model, topics_of, rows_of, keyed_by_order in folds:
                if note.topic in topics_of or not topics_of:
                    key = order if keyed_by_order else model.key(event)
                    rows_of[key] = model.evolve(rows_of.get(key), event)
            if keeper.models and (latest is None or event.timestamp > latest):
                latest = event.timestamp
        if on_page is not None:
            on_page(notes[-1].id, head)
    keeper.take(head + 1, latest)  # the marks after this part's last event


class _Keeper:
    """A bulk fill's checkpoints of its time-travel models (see ``checkpoints``):
    their rows at every multiple of ``FILL_EVERY``, with the latest recording
    time of the events up to there (of all events read: never earlier than
    the model's own latest, so a checkpoint is never used too early).

    With a ``part`` the rows are that part's only: the other parts keep theirs
    as parts (``CheckpointStore.save_part``), and part 0 merges them with its
    own (rows joined, the latest of the latest times) into whole checkpoints.
    """

    NEVER = 1 << 62  # a mark no position reaches (no checkpointed model here)

    def __init__(
        self,
        source: Source,
        models: Sequence[ReadModel[Any]],
        rows: list[Any],
        part: Part | None = None,
    ) -> None:
        self.store = store_of(source.recorder)
        chosen = [i for i, m in enumerate(models) if m.checkpointed and self.store is not None]
        self.models = [(models[i], rows[i]) for i in chosen]
        self.part = part if part is not None and part[1] > 1 else None
        self.every = checkpoints.FILL_EVERY  # read now: a test may change it
        self.mark = self.every if self.models else self.NEVER
        self.kept: list[tuple[ReadModel[Any], Any]] = []

    def take(self, position: int, latest: Any) -> int:
        """Keep the rows as they are now at every mark before ``position`` (the
        next event's; nothing between the last mark and it was read); returns
        the next mark."""
        while self.mark < position:
            if latest is not None or self.part is not None:  # a part may have read nothing yet
                for model, rows in self.models:
                    kept = {key: row for key, row in rows.items() if row is not None}
                    self.kept.append((model, Checkpoint(self.mark, latest or EPOCH, kept)))
            self.mark += self.every
        return self.mark

    def save(self) -> None:
        if self.store is None or not self.models:
            return
        # Dumps by row object, per dump function: an order unchanged since the
        # last checkpoint, or folded into the same facts for two models, is
        # dumped once.
        dumped: dict[Any, dict[int, str]] = {}
        part = self.part
        if part is not None and part[0] != 0:
            for model, checkpoint in self.kept:
                memo = dumped.setdefault(type(model).dump, {})
                self.store.save_part(model, checkpoint, part, memo)
            return
        parts = {model.name: self.store.take_parts(model) for model, _ in self.models if part}
        for model, _ in self.models:
            self.store.clear(model)
        for model, checkpoint in self.kept:
            memo = dumped.setdefault(type(model).dump, {})
            if part is None:
                self.store.save(model, checkpoint, memo)
            else:
                self.store.save_merged(model, checkpoint, parts[model.name], part[1] - 1, memo)
