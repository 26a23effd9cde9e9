"""The projection framework: read models as pure folds, views that keep
rows and tracking position together, and batched catch-up.

A read model is a pure ``evolve(row, event) -> row | None`` over rows keyed
by order id (``None`` deletes the row), the event topics it folds, and the
columns a query may filter or sort on. A view stores one read model's rows
in one backend; it is a library ``TrackingRecorder`` whose ``write`` puts a
page of changed rows and the new tracking position in one transaction, so
each notification is applied exactly once.

Catch-up reads the notifications after the tracked position in pages
(filtered by the model's topics), loads the rows the page touches in one
query, folds the page in memory and writes it in one transaction. The
tracked position then moves to the end of the page, or to the head of the
log when nothing relevant is left, so a reader waiting for a position of an
event the model ignores is not kept waiting.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Literal, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Tracking

from ledger.projections.decode import EventDecoder

R = TypeVar("R")

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in"]
OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=", "in")
Filter = tuple[str, Op, Any]
"""(column, operator, value); "in" takes a sequence. Filters are AND-ed."""

DEFAULT_PAGE = 1000

Part = tuple[int, int]
"""(i, n): part i of n of the orders, for a fill split across processes."""


def in_part(order_id: UUID | str, part: Part) -> bool:
    """Whether an order is in ``part``: by its id's last byte (the same test as
    ``persistence.pg_stream``'s SQL)."""
    uuid = order_id if isinstance(order_id, UUID) else UUID(order_id)
    return uuid.bytes[15] % part[1] == part[0]


@dataclass(frozen=True)
class Column:
    """A queryable column of a read model's table, computed from the row."""

    name: str
    kind: Literal["text", "int"]
    value: Callable[[Any], Any]


class ReadModel(ABC, Generic[R]):
    """A read model: its name, the events it folds, its columns, its fold."""

    name: str
    topics: tuple[str, ...]
    columns: tuple[Column, ...]
    checkpointed: bool = False
    """Time travel folds this model (board, backlog): a bulk fill keeps its
    rows every ``checkpoints.FILL_EVERY`` positions as checkpoints."""
    appends: bool = False
    """Each event makes a row of its own (the feed's items): no stored row is
    read back before a fold, and a fill goes page by page (``catch_up``)
    rather than holding every row in memory."""

    def decoding(self, source: Source) -> Callable[[Any], Any]:
        """What this model folds of each notification: the domain event
        (``Source.decode``), unless the model makes its own of it."""
        return source.decode

    def own_view(self, store: str, datastore: Any, table: str) -> View[R] | None:
        """A view of the model's own for ``store`` ("memory", "sqlite",
        "postgres"); ``None``: the generic one (``runner.open_view``)."""
        return None

    @abstractmethod
    def evolve(self, row: R | None, event: Any) -> R | None:
        """The row after ``event``; pure; ``None`` means no row."""

    @abstractmethod
    def dump(self, row: R) -> str:
        """The row as text for storage."""

    @abstractmethod
    def load(self, data: str) -> R:
        """The row from ``dump`` output."""

    def key(self, event: Any) -> str:
        """The row an event belongs to: its order."""
        return str(event.originator_id)

    def record(self, row: R) -> dict[str, Any]:
        """The row's column values."""
        return {column.name: column.value(row) for column in self.columns}

    def check_filters(self, filters: Iterable[Filter], order_by: Iterable[str] = ()) -> None:
        """Refuse unknown columns and operators (they become SQL)."""
        names = {"key", *(c.name for c in self.columns)}
        for column, op, _ in filters:
            if column not in names or op not in OPS:
                raise ValueError(f"cannot filter {self.name} by {column!r} {op!r}")
        for column in order_by:
            if column not in names:
                raise ValueError(f"cannot sort {self.name} by {column!r}")


class View(Protocol[R]):
    """One read model's rows and tracking position in one backend."""

    model: ReadModel[R]
    table: str

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def wait(
        self, application_name: str, notification_id: int | None, timeout: float = 1.0
    ) -> None: ...

    def rows(self, keys: Iterable[str]) -> dict[str, R]:
        """The stored rows with these keys."""
        ...

    def write(
        self, changes: Mapping[str, R | None], tracking: Tracking, expected: int | None
    ) -> None:
        """Upsert/delete rows and record ``tracking`` in one transaction;
        ``IntegrityError`` if the tracked position is no longer ``expected``."""
        ...

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[R]:
        """Rows matching every filter, sorted by ``order_by`` then key."""
        ...

    def count(self, filters: Sequence[Filter] = ()) -> int: ...

    def fill(self, rows: Mapping[str, R], tracking: Tracking | None) -> None:
        """Write every row of a new, empty view and its first position in one
        transaction (a rebuild's bulk load); without ``tracking``, rows only
        (a part of a fill split across processes: part 0 records it)."""
        ...

    def shadow(self) -> View[R]:
        """An empty view of the same model in shadow tables, for a rebuild."""
        ...

    def swap_in(self, shadow: View[R]) -> None:
        """Replace this view's rows and position by the shadow's, atomically."""
        ...


@dataclass(frozen=True)
class Source:
    """Where a view's events come from: an application's notification log."""

    name: str
    recorder: ApplicationRecorder
    mapper: Mapper[Any]
    personal_keys: Any = None
    """The application's customer keys (``persistence.personal.PersonalKeys``)."""

    @classmethod
    def of(cls, app: Any) -> Source:
        """The notification log of an eventsourcing ``Application``."""
        return cls(app.name, app.recorder, app.mapper, getattr(app, "personal_keys", None))

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    @cached_property
    def decode(self) -> EventDecoder:
        """Notifications to domain events, for folding (see ``decode``)."""
        return EventDecoder(self.mapper)

    @cached_property
    def _decoders(self) -> dict[str, Callable[[Any], Any]]:
        return {}

    def decoder_of(self, model: ReadModel[Any]) -> Callable[[Any], Any]:
        """What ``model`` folds of a notification, its decoder made once per source."""
        decoder = self._decoders.get(model.name)
        if decoder is None:
            decoder = self._decoders[model.name] = model.decoding(self)
        return decoder


def fold_page(
    model: ReadModel[R], rows: Mapping[str, R], events: Iterable[Any]
) -> dict[str, R | None]:
    """Fold events over rows; returns every touched row (None: delete)."""
    changed: dict[str, R | None] = {}
    for event in events:
        key = model.key(event)
        before = changed[key] if key in changed else rows.get(key)
        changed[key] = model.evolve(before, event)
    return changed


def fold_events(model: ReadModel[R], events: Iterable[Any]) -> dict[str, R]:
    """The read model of these events, in memory (time travel, tests)."""
    return {k: v for k, v in fold_page(model, {}, events).items() if v is not None}


def catch_up(
    view: View[R],
    source: Source,
    *,
    page: int = DEFAULT_PAGE,
    until: int | None = None,
    on_page: Callable[[int, int], None] | None = None,
    position: int | Literal["ask"] | None = "ask",
) -> int:
    """Apply everything after the view's position up to ``until`` (default:
    until the log has no more), a page per transaction. Returns the new position.

    A page is read unfiltered and the model's topics are picked out here, so
    the page's last id is the new position even when the model ignores its
    events (no separate query of the head). ``position``: the view's
    position if the caller knows it (a runner does; a stale one makes the
    write fail with ``IntegrityError``), else it is read from the view.
    """
    if position == "ask":
        position = view.max_tracking_id(source.name)
    wanted = frozenset(view.model.topics)
    decode = source.decoder_of(view.model)
    reads_rows = not view.model.appends
    while until is None or (position or 0) < until:
        notes = source.recorder.select_notifications(
            position or 0, page, stop=until, inclusive_of_start=False
        )
        if not notes:
            break
        end = notes[-1].id
        events = [decode(n) for n in notes if not wanted or n.topic in wanted]
        keys = {view.model.key(e) for e in events} if reads_rows else set()
        changes = fold_page(view.model, view.rows(keys) if keys else {}, events)
        view.write(changes, Tracking(source.name, end), expected=position)
        position = end
        if on_page is not None:
            on_page(end, until if until is not None else source.head())
        if len(notes) < page:
            break
    return position or 0


def read_pages(
    source: Source, topics: Sequence[str], head: int, page: int, part: Part | None = None
) -> Iterator[Sequence[Any]]:
    """The notifications up to ``head`` (of ``part``'s orders), a page at a
    time, the next page read by a helper thread while this one folds (the
    database works meanwhile)."""
    pages: queue.Queue[Sequence[Any] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        try:
            streamed = getattr(source.recorder, "notification_pages", None)
            if streamed is not None:  # PostgreSQL: one COPY (``persistence.pg_stream``)
                for notes in streamed(0, head, topics, page, part):
                    if stop.is_set():
                        break
                    pages.put(notes)
            else:
                read_paged()
            pages.put(None)
        except BaseException as error:  # handed to the folding thread
            pages.put(error)

    def read_paged() -> None:
        position = 0
        while position < head and not stop.is_set():
            notes = source.recorder.select_notifications(
                position, page, stop=head, topics=topics, inclusive_of_start=False
            )
            if not notes:
                break
            position = notes[-1].id
            if part is not None:
                notes = [n for n in notes if in_part(n.originator_id, part)]
            if notes:
                pages.put(notes)

    reader = threading.Thread(target=read, name="projection-reader", daemon=True)
    reader.start()
    try:
        while (item := pages.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting to put
            with contextlib.suppress(queue.Empty):
                pages.get(timeout=0.05)
        reader.join()


def records_of(model: ReadModel[R], rows: Mapping[str, R]) -> dict[str, str]:
    """Rows as stored text, keyed: how tests compare views."""
    return {key: model.dump(row) for key, row in sorted(rows.items())}
