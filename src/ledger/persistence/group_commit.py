"""Group commit: concurrent saves of one process share one transaction.

A caller that finds no batch being written leads one at once: it writes its
save and every save queued behind it (up to ``max_batch``) in one
transaction. While it writes, newcomers queue; once its batch only waits for
the commit, it hands the lead to the first one queued (who writes the next
batch), and when the commit is done it wakes each caller of its batch with
its outcome. Under load batches grow by themselves; a lone caller waits for
nobody.

Each caller gets its own outcome: the batch writer refuses a save that would
conflict without failing the others; if the batch fails for another reason,
its saves are written again one transaction each.

This part knows no store: it is given how to write a batch in one
transaction and how to write one save alone (PostgreSQL's batch transaction
is ``pg_batch``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent

from ledger.persistence.records import TRANSIENT

log = logging.getLogger(__name__)

Outcome = Sequence[int] | None
HandOver = Callable[[], None]


class PendingSave:
    """One caller's save waiting in the group-commit queue, and its outcome."""

    __slots__ = ("_signal", "done", "error", "ids", "kwargs", "stored_events")

    def __init__(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> None:
        self.stored_events = stored_events
        self.kwargs = kwargs
        self.done = False
        self.ids: Outcome = None
        self.error: BaseException | None = None
        # Held until the caller is woken (cheaper than an Event: one waiter).
        self._signal = threading.Lock()
        self._signal.acquire()

    def wait(self) -> None:
        self._signal.acquire()

    def wake(self) -> None:
        self._signal.release()

    def reset(self) -> None:
        self.done = False
        self.ids = None
        self.error = None

    def succeed(self, ids: Outcome) -> None:
        self.ids = ids
        self.done = True

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done = True

    def outcome(self) -> Outcome:
        if self.error is not None:
            raise self.error
        return self.ids


class WriteBatch(Protocol):
    def __call__(self, batch: list[PendingSave], hand_over: HandOver | None) -> None:
        """Write every save of ``batch`` in one transaction and settle each
        one's outcome; call ``hand_over`` once only the commit is left."""


class WriteOne(Protocol):
    def __call__(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        """Write one save in a transaction of its own."""


class GroupCommit:
    """The queue of saves and who leads the next batch."""

    def __init__(
        self,
        write_batch: WriteBatch,
        write_one: WriteOne,
        *,
        max_batch: int = 64,
        in_flight: int = 2,
        routine: tuple[type[Exception], ...] = (),
    ) -> None:
        self.write_batch = write_batch
        self.write_one = write_one
        # At most this many saves in one transaction (bounds its size and time).
        self.max_batch = max_batch
        # Batches in flight at once: while one commits, the next reads what
        # it must check. 1: one at a time.
        self.in_flight = in_flight
        # Failures of a batch that are no news (logged quietly).
        self.routine = routine
        self.lock = threading.Lock()
        self.queue: list[PendingSave] = []
        self.leading = False
        self._slots = threading.BoundedSemaphore(in_flight)

    def save(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> Outcome:
        """Write one caller's save with whatever is queued beside it."""
        pending = PendingSave(stored_events, kwargs)
        with self.lock:
            follow = self.leading
            if follow:
                self.queue.append(pending)
            else:
                self.leading = True
        if follow:
            # Woken once: with the outcome, or (first in the queue when the
            # previous batch ended) to lead the next batch.
            pending.wait()
            if pending.done:
                return pending.outcome()
        self._lead(pending)
        return pending.outcome()

    def _lead(self, first: PendingSave) -> None:
        """Write ``first`` and the saves queued behind it, handing the lead on
        as soon as this batch only waits for its commit."""
        with self._slots:
            batch = self._take(first)
            hand_over = _Once(self._hand_over)
            try:
                self._write(batch, hand_over if self.in_flight > 1 else None)
            finally:
                for pending in batch[1:]:
                    pending.wake()
                hand_over()

    def _take(self, first: PendingSave) -> list[PendingSave]:
        with self.lock:
            batch = [first, *self.queue[: self.max_batch - 1]]
            del self.queue[: self.max_batch - 1]
        return batch

    def _hand_over(self) -> None:
        with self.lock:
            successor = self.queue.pop(0) if self.queue else None
            self.leading = successor is not None
        if successor is not None:
            successor.wake()

    def _write(self, batch: list[PendingSave], hand_over: HandOver | None) -> None:
        """Write the batch in one transaction; fall back to one save per transaction."""
        try:
            try:
                self.write_batch(batch, hand_over)
            except Exception as e:
                self._fall_back(batch, hand_over, e)
        except BaseException as e:
            for pending in batch:
                if not pending.done:
                    pending.fail(e)
            raise

    def _fall_back(
        self, batch: list[PendingSave], hand_over: HandOver | None, error: Exception
    ) -> None:
        # A conflict is routine (a lone save is not checked first); anything
        # else is worth a line in the log.
        level = logging.DEBUG if isinstance(error, self.routine) else logging.WARNING
        log.log(level, "group commit of %d saves failed (%r); one by one", len(batch), error)
        if hand_over is not None:
            hand_over()
        # Something the batch's checks cannot foresee (a lost connection, the
        # store restarting): every save gets a transaction of its own (with
        # its retries), and its own outcome.
        for pending in batch:
            pending.reset()
        self._write_one_by_one(batch)

    def _write_one_by_one(self, batch: list[PendingSave]) -> None:
        for pending in batch:
            try:
                pending.succeed(self.write_one(pending.stored_events, **pending.kwargs))
            except TRANSIENT as e:
                # The store is away (the retries are spent): the rest of the
                # batch would only wait as long to fail the same way.
                for rest in batch:
                    if not rest.done:
                        rest.fail(e)
                return
            except Exception as e:
                pending.fail(e)


class _Once:
    """``action`` on the first call, nothing after."""

    __slots__ = ("_action", "_done")

    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action
        self._done = False

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            self._action()
