"""Running views: opening one on the application's store, keeping it caught
up in a thread, read-your-writes waits, and blue/green rebuilds."""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.popo import POPOApplicationRecorder

from ledger.projections.bulk import fill
from ledger.projections.framework import (
    DEFAULT_PAGE,
    Part,
    R,
    ReadModel,
    Source,
    View,
    catch_up,
    fold_page,
)
from ledger.projections.view_memory import MemoryView
from ledger.projections.view_sqlite import make_sqlite_view

log = logging.getLogger(__name__)

REBUILD_PAGE = 2000
SPLIT_FROM = 20_000
"""A rebuild given another process (``rebuild_many``'s ``elsewhere``) uses it
from this many events on; below, starting the process costs more than it saves."""


def open_view(app: Any, model: ReadModel[R], table: str = "") -> View[R]:
    """The model's view in the application's own store (tables created)."""
    datastore = getattr(app.factory, "datastore", None)
    store = "memory" if datastore is None else "postgres"
    if datastore is not None and type(datastore).__name__ == "SQLiteDatastore":
        store = "sqlite"
    own = model.own_view(store, datastore, table)
    if own is not None:
        return own
    if datastore is None:
        return MemoryView(model, table)
    if store == "sqlite":
        return make_sqlite_view(datastore, model, table)
    from ledger.projections.view_postgres import make_postgres_view  # psycopg: PostgreSQL only

    return make_postgres_view(datastore, model, table)


class Waker:
    """Wakes a runner when new events may be in the log: the in-memory
    recorder's listener, PostgreSQL LISTEN/NOTIFY, or nothing (SQLite polls)."""

    def __init__(self, recorder: Any, event: Any = None) -> None:
        # ``event``: anything with ``set()``; a ``WakerHub`` passes its fan-out.
        self.event = event if event is not None else threading.Event()
        self._recorder = recorder
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        if isinstance(recorder, POPOApplicationRecorder):
            recorder.listen(self.event)
        elif hasattr(recorder, "channel_name"):
            self._thread = threading.Thread(target=self._listen, daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        from psycopg.sql import SQL, Identifier  # only a PostgreSQL store listens

        while not self._stopped.is_set():
            try:
                with self._recorder.datastore.get_connection() as conn:
                    conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=0.2, stop_after=1):
                            self.event.set()
            except Exception:  # the poll keeps the view current meanwhile
                log.exception("LISTEN failed; retrying")
                self._stopped.wait(1.0)

    def wait(self, timeout: float) -> None:
        self.event.wait(timeout)
        self.event.clear()

    def close(self) -> None:
        self._stopped.set()
        if isinstance(self._recorder, POPOApplicationRecorder):
            self._recorder.unlisten(self.event)
        if self._thread is not None:
            self._thread.join(timeout=2)


class _FanOut:
    """Sets every subscriber's event at once (duck-types ``Event.set``)."""

    def __init__(self) -> None:
        self.events: set[threading.Event] = set()
        self.lock = threading.Lock()

    def set(self) -> None:
        with self.lock:
            for event in self.events:
                event.set()


class WakerHub:
    """One listener (one PostgreSQL LISTEN connection) for every runner of a
    process; ``subscribe()`` gives each runner a waker of its own."""

    def __init__(self, recorder: Any) -> None:
        self._fanout = _FanOut()
        self._waker = Waker(recorder, event=self._fanout)

    def subscribe(self) -> Subscription:
        return Subscription(self._fanout)

    def close(self) -> None:
        self._waker.close()


class Subscription:
    """A runner's share of a ``WakerHub``."""

    def __init__(self, fanout: _FanOut) -> None:
        self.event = threading.Event()
        self._fanout = fanout
        with fanout.lock:
            fanout.events.add(self.event)

    def wait(self, timeout: float) -> None:
        self.event.wait(timeout)
        self.event.clear()

    def close(self) -> None:
        with self._fanout.lock:
            self._fanout.events.discard(self.event)


_running: weakref.WeakSet[Any] = weakref.WeakSet()
"""Runners and groups with a thread of their own, stopped at interpreter exit:
their threads are daemons doing database I/O, which must not still be
running while the interpreter tears down the modules they use."""


@atexit.register
def _stop_running() -> None:
    for running in list(_running):
        running.stop()


class StopSignal:
    """A stepping thread's stop (an ``Event``'s ``set``, ``is_set``, ``clear``
    and ``wait``) that also wakes the thread from its wait for new events, so
    ``stop()`` returns at once rather than after the rest of a poll."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._waker: Waker | Subscription | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def set(self) -> None:
        self._event.set()
        waker = self._waker
        if waker is not None:
            waker.event.set()

    def wakes(self, waker: Waker | Subscription | None) -> None:
        """The waker the thread now sleeps on (None: none)."""
        self._waker = waker


def keep_stepping(
    step: Callable[[], None],
    stop: StopSignal,
    source: Source,
    hub: WakerHub | None,
    poll: float,
    min_interval: float,
) -> None:
    """Call ``step`` until ``stop``: after each, sleep until woken (or ``poll``
    seconds pass), never starting two steps within ``min_interval`` seconds."""
    waker: Waker | Subscription = hub.subscribe() if hub else Waker(source.recorder)
    stop.wakes(waker)
    try:
        while not stop.is_set():
            started = time.monotonic()
            step()
            waker.wait(poll)
            pause = min_interval - (time.monotonic() - started)
            if pause > 0:
                stop.wait(pause)
    finally:
        stop.wakes(None)
        waker.close()


class Runner(Generic[R]):
    """Keeps one view caught up with the log in a background thread (or,
    given a ``group``, on the group's thread together with the others).

    It catches up in pages, then sleeps until woken (or ``poll`` seconds
    pass), never committing more often than every ``min_interval`` seconds,
    so a steady stream of events is applied in batches.
    """

    def __init__(
        self,
        view: View[R],
        source: Source,
        *,
        page: int = DEFAULT_PAGE,
        poll: float = 0.1,
        min_interval: float = 0.05,
        hub: WakerHub | None = None,
        group: RunnerGroup | None = None,
    ) -> None:
        self.view = view
        self.hub = hub
        self.group = group
        self.source = source
        self.page = page
        self.poll = poll
        self.min_interval = min_interval
        self.position = 0
        self._known = False  # whether ``position`` is the view's, as last written here
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._stop = StopSignal()
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()  # one catch-up at a time in this process

    def start(self) -> Runner[R]:
        self._stop.clear()
        if self.group is not None:  # the group's thread steps it with the others
            self.group.add(self)
            return self
        self._thread = threading.Thread(
            target=self._run, name=f"projection-{self.view.model.name}", daemon=True
        )
        self._thread.start()
        _running.add(self)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.group is not None:
            self.group.remove(self)
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        if self.group is not None:
            return not self._stop.is_set() and self.group.runs(self)
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> int:
        """Catch up now, in this thread. A view that has never been written
        (a new read model, a new store) is first filled in bulk, as a rebuild
        fills its shadow, rather than page by page."""
        with self.lock:
            known = self._start_position()
            self._known = False  # until this catch-up has written
            position = catch_up(self.view, self.source, page=self.page, position=known)
            self._known = True
        with self._changed:
            self.position = position
            self._changed.notify_all()
        return position

    def _start_position(self) -> int | None:
        """Where to catch up from (under ``lock``): the position as last written
        here, else the view's; a view never written is filled in bulk first."""
        if self._known:
            return self.position
        known = self.view.max_tracking_id(self.source.name)
        if known is None:
            known = fill([self.view], self.source, page=REBUILD_PAGE) or None
        return known

    def _run(self) -> None:
        keep_stepping(self._step, self._stop, self.source, self.hub, self.poll, self.min_interval)

    def _step(self) -> None:
        try:
            self.run_once()
            self.error = None
        except IntegrityError:
            pass  # another runner moved the view on; read the position again
        except Exception as error:  # keep running; the next poll retries
            self.error = error
            log.exception("projection %s failed to catch up", self.view.model.name)

    def _advanced(self, position: int) -> None:
        """The view is at ``position``, as read or written (here, by its group)."""
        self._known = True
        self.error = None
        with self._changed:
            self.position = position
            self._changed.notify_all()

    def wait_for(self, position: int | None, timeout: float = 5.0) -> None:
        """Block until the view has applied ``position``; TimeoutError if not."""
        if position is None:
            return
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, self.poll))
                if self.position < position:
                    self.position = self.view.max_tracking_id(self.source.name) or 0
        if self.position < position:
            raise TimeoutError(f"{self.view.model.name} has not reached position {position}")

    def rebuild(
        self,
        on_page: Callable[[int, int], None] | None = None,
        elsewhere: FillElsewhere | None = None,
    ) -> int:
        """Rebuild blue/green (see ``rebuild``) while this runner keeps serving."""
        position = rebuild(
            self.view, self.source, on_page=on_page, lock=self.lock, elsewhere=elsewhere
        )
        self._known = False
        return position


class RunnerGroup:
    """One thread keeping several runners' views caught up together.

    Eight runners each on their own thread each read the same page, decode
    the same events and commit a transaction of their own every step: that
    cost is per step rather than per event (a runner whose model folds none
    of the events costs as much as the board's). A group reads and
    decodes each page once, folds it into every member's rows and commits
    every member's rows and position in one transaction (see
    ``step_together``). Members keep their own lock, position, waits and
    rebuilds; a member is added by ``Runner.start`` and leaves by ``stop``.
    """

    def __init__(
        self,
        source: Source,
        *,
        hub: WakerHub | None = None,
        page: int = DEFAULT_PAGE,
        poll: float = 0.1,
        min_interval: float = 0.05,
    ) -> None:
        self.source = source
        self.hub = hub
        self.page = page
        self.poll = poll
        self.min_interval = min_interval
        self._members: dict[int, Runner[Any]] = {}
        self._lock = threading.Lock()
        self._stop = StopSignal()
        self._thread: threading.Thread | None = None

    def add(self, runner: Runner[Any]) -> None:
        with self._lock:
            self._members[id(runner)] = runner
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="projection-group", daemon=True
                )
                self._thread.start()
                _running.add(self)

    def remove(self, runner: Runner[Any]) -> None:
        with self._lock:
            self._members.pop(id(runner), None)

    def runs(self, runner: Runner[Any]) -> bool:
        with self._lock:
            member = self._members.get(id(runner)) is runner
            return member and self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        keep_stepping(self._step, self._stop, self.source, self.hub, self.poll, self.min_interval)

    def _step(self) -> None:
        with self._lock:
            members = list(self._members.values())
        if not members:
            return
        try:
            step_together(members, self.source, self.page)
        except Exception as error:  # keep running; the next poll retries
            for runner in members:
                runner.error = error
                runner._known = False
            log.exception("projections failed to catch up")


def step_together(runners: Sequence[Runner[Any]], source: Source, page: int) -> None:
    """Catch every runner's view up with the log, a page at a time: each page
    read and decoded once, folded into each view from its own position, and
    every view's rows and new position written in one transaction (views of
    one SQL store; otherwise one each). Holds every runner's lock meanwhile,
    so a rebuild's swap waits for the step. If the joint write conflicts
    (another process moved a view on), each view is written alone, so only
    that one waits to read its position again."""
    with contextlib.ExitStack() as held:
        positions: dict[int, int] = {}
        ordered: list[Runner[Any]] = []
        for runner in sorted(runners, key=lambda runner: runner.view.model.name):
            held.enter_context(runner.lock)
            try:
                positions[id(runner)] = _position_of(runner)
            except Exception as error:  # this view only (its first bulk fill failed)
                runner.error = error
                log.exception("projection %s failed to catch up", runner.view.model.name)
                continue
            runner._advanced(positions[id(runner)])
            ordered.append(runner)
        if not ordered:
            return
        while True:
            start = min(positions.values())
            notes = source.recorder.select_notifications(start, page, inclusive_of_start=False)
            if not notes:
                return
            end = notes[-1].id
            plans = _fold_for_each(ordered, positions, notes, source)
            written = _write_together(plans, Tracking(source.name, end))
            for runner in written:
                positions[id(runner)] = end
                runner._advanced(end)
            failed = {id(runner) for runner, _, _ in plans} - {id(runner) for runner in written}
            ordered = [runner for runner in ordered if id(runner) not in failed]
            for key in failed:  # they read their position again next step
                del positions[key]
            if len(notes) < page or not ordered:
                return


def _position_of(runner: Runner[Any]) -> int:
    """Where the runner's view catches up from (see ``Runner._start_position``)."""
    return runner._start_position() or 0


_Plan = tuple["Runner[Any]", dict[str, Any], int]
"""A runner, its view's changed rows (None: delete), the position they start from."""


def _fold_for_each(
    runners: Sequence[Runner[Any]], positions: dict[int, int], notes: Sequence[Any], source: Source
) -> list[_Plan]:
    """Each runner's changes for the notes past its position (each note decoded once)."""
    decoded: dict[tuple[int, int], Any] = {}  # (decoder, position): each note decoded once
    wanted: list[tuple[Runner[Any], list[Any]]] = []
    for runner in runners:
        position = positions[id(runner)]
        if position >= notes[-1].id:
            continue
        topics = frozenset(runner.view.model.topics)
        decode = source.decoder_of(runner.view.model)
        events = []
        for note in notes:
            if note.id > position and (not topics or note.topic in topics):
                event = decoded.get((id(decode), note.id))
                if event is None:
                    event = decoded[(id(decode), note.id)] = decode(note)
                events.append(event)
        wanted.append((runner, events))
    stored = _rows_together([(r.view, _keys_to_read(r.view.model, evs)) for r, evs in wanted])
    return [
        (runner, fold_page(runner.view.model, rows, events), positions[id(runner)])
        for (runner, events), rows in zip(wanted, stored, strict=True)
    ]


def _keys_to_read(model: ReadModel[Any], events: Sequence[Any]) -> set[str]:
    """The rows a fold of ``events`` starts from (none for a model that appends)."""
    return set() if model.appends else {model.key(event) for event in events}


def _shared_datastore(views: Sequence[View[Any]]) -> Any:
    """The SQL datastore every view writes to, if they share one and can
    write in a transaction of the caller's; else None."""
    stores = {id(getattr(view, "datastore", None)) for view in views}
    if len(stores) != 1 or not all(hasattr(view, "write_transaction") for view in views):
        return None
    return getattr(views[0], "datastore", None)


def _rows_together(wanted: list[tuple[View[Any], set[str]]]) -> list[dict[str, Any]]:
    """Each view's stored rows with these keys, read in one transaction if they share a store."""
    views = [view for view, keys in wanted if keys]
    datastore = _shared_datastore(views) if views else None
    if datastore is None:
        return [view.rows(keys) if keys else {} for view, keys in wanted]
    with datastore.transaction(commit=False) as curs:
        return [view.rows_in(curs, keys) if keys else {} for view, keys in wanted]  # type: ignore[attr-defined]


def _write_together(plans: list[_Plan], tracking: Tracking) -> list[Runner[Any]]:
    """Write every plan's rows and ``tracking``; returns the runners written.

    One transaction for views of one SQL store; if it conflicts, or the
    views do not share one, a transaction each (a conflicting one is left out)."""
    if not plans:
        return []
    datastore = _shared_datastore([runner.view for runner, _, _ in plans])
    if datastore is not None and len(plans) > 1:
        try:
            with plans[0][0].view.write_transaction() as curs:  # type: ignore[attr-defined]
                for runner, changes, expected in plans:
                    runner.view.write_in(curs, changes, tracking, expected)  # type: ignore[attr-defined]
            return [runner for runner, _, _ in plans]
        except Exception:  # a view moved on elsewhere, or failed: each alone, below
            log.debug("joint projection write failed; writing each view alone", exc_info=True)
    written: list[Runner[Any]] = []
    for runner, changes, expected in plans:
        try:
            runner.view.write(changes, tracking, expected=expected)
            written.append(runner)
        except IntegrityError:
            runner._known = False  # another runner moved this view on: ask again
        except Exception as error:  # this view only; the others go on
            runner._known = False
            runner.error = error
            log.exception("projection %s failed to catch up", runner.view.model.name)
    return written


def wait_for(view: View[Any], source_name: str, position: int | None, timeout: float) -> None:
    """Read-your-writes without a runner in this process: poll the view's position."""
    view.wait(source_name, position, timeout=timeout)


def rebuild(
    view: View[R],
    source: Source,
    *,
    page: int = REBUILD_PAGE,
    on_page: Callable[[int, int], None] | None = None,
    lock: Any = None,
    elsewhere: FillElsewhere | None = None,
) -> int:
    """Fill shadow tables from position zero while the live ones serve, catch
    the shadow up to the head, and swap it in in one transaction (with
    ``elsewhere``, half of the orders are folded by another process).

    Returns the position the rebuilt view starts from.
    """
    return rebuild_many([(view, lock)], source, page=page, on_page=on_page, elsewhere=elsewhere)[0]


FillElsewhere = Callable[[Sequence[View[Any]], int, Part], Callable[[], None]]
"""Starts filling some shadow views up to a position in another process, for
one part of the orders (``bulk.fill``); returns the function that waits
for it (and raises if it failed)."""


def rebuild_many(
    targets: Sequence[tuple[View[Any], Any]],
    source: Source,
    *,
    page: int = REBUILD_PAGE,
    on_page: Callable[[int, int], None] | None = None,
    elsewhere: FillElsewhere | None = None,
) -> list[int]:
    """Rebuild several views blue/green in one pass over the log.

    ``targets`` are (view, lock) pairs; the lock (if any) is the one its live
    runner holds while catching up. Every shadow is folded in memory from the
    same read of the log and bulk-written once (``bulk.fill``); with
    ``elsewhere``, another process folds half of the orders into the same
    shadows meanwhile (each process reads and decodes only its own orders'
    events). Then each shadow, under its view's lock, catches up with what
    arrived meanwhile (the ordinary paged path) and is swapped in. Returns
    each view's position.
    """
    shadows = [view.shadow() for view, _ in targets]
    head = source.head()
    if elsewhere is not None and head >= SPLIT_FROM:
        others = elsewhere(shadows, head, (1, 2))
        try:
            fill(shadows, source, page=page, until=head, on_page=on_page, part=(0, 2),
                 others=others)  # fmt: skip
        except BaseException:
            with contextlib.suppress(Exception):  # no process left behind
                others()
            raise
    else:
        fill(shadows, source, page=page, until=head, on_page=on_page)
    positions: list[int] = []
    for (view, lock), shadow in zip(targets, shadows, strict=True):
        with lock if lock is not None else threading.Lock():
            # A last short catch-up, then the swap; the live runner waits meanwhile.
            positions.append(catch_up(shadow, source, page=page))
            view.swap_in(shadow)
    return positions
