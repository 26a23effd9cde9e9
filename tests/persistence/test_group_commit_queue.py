"""The group-commit queue on its own (``persistence.group_commit``): who
leads a batch, what goes in it, and that every caller gets its own outcome.

The queue knows no store: here it writes into a list, or into SQLite in one
transaction per batch; PostgreSQL's batch is ``test_pg_batch.py`` and the
whole recorder ``test_group_commit.py``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import Environment
from hypothesis import given
from hypothesis import strategies as st

from ledger.persistence.group_commit import GroupCommit, HandOver, Outcome, PendingSave
from ledger.persistence.sqlite import LedgerSQLiteRecorder
from ledger.settings import Settings, eventsourcing_env


def event(version: int = 1) -> StoredEvent:
    return StoredEvent(uuid4(), version, "ledger.aggregates.order:Order.Received", b"{}")


class Sink:
    """A store in a list: each batch is one 'transaction' of consecutive ids."""

    def __init__(self, refuse: Callable[[PendingSave], bool] = lambda p: False) -> None:
        self.batches: list[list[PendingSave]] = []
        self.alone: list[Sequence[StoredEvent]] = []
        self.refuse = refuse
        self.next_id = 1
        self.lock = threading.Lock()

    def write_batch(self, batch: list[PendingSave], hand_over: HandOver | None) -> None:
        with self.lock:
            self.batches.append(batch)
            for pending in batch:
                if self.refuse(pending):
                    pending.fail(IntegrityError("refused"))
                else:
                    pending.succeed(self._ids(len(pending.stored_events)))

    def write_one(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        with self.lock:
            self.alone.append(stored_events)
            return self._ids(len(stored_events))

    def _ids(self, count: int) -> list[int]:
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        return ids


def wait_for(check: Callable[[], bool]) -> None:
    for _ in range(2000):
        if check():
            return
        threading.Event().wait(0.005)
    raise AssertionError("never happened")


def save_from_threads(group: GroupCommit, saves: list[list[StoredEvent]]) -> list[Any]:
    """Each save from a thread of its own; each thread's ids or exception."""
    outcomes: list[Any] = [None] * len(saves)

    def run(i: int) -> None:
        try:
            outcomes[i] = group.save(saves[i], {"n": i})
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(saves))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def save_together(group: GroupCommit, saves: list[list[StoredEvent]]) -> list[Any]:
    """Every save queued before any is written, so they form one batch (up
    to ``max_batch``); each thread's ids or exception."""
    with group.lock:
        group.leading = True  # as if a batch were being written now

    def release() -> None:
        wait_for(lambda: len(group.queue) == len(saves))
        with group.lock:  # that batch ends: the first one queued leads the next
            first = group.queue.pop(0)
        first.wake()

    releaser = threading.Thread(target=release)
    releaser.start()
    outcomes = save_from_threads(group, saves)
    releaser.join()
    return outcomes


def test_a_lone_save_is_written_at_once_in_a_batch_of_its_own() -> None:
    sink = Sink()
    group = GroupCommit(sink.write_batch, sink.write_one)

    assert group.save([event(1), event(2)], {}) == [1, 2]
    assert [len(b) for b in sink.batches] == [1]
    assert not group.leading and not group.queue


def test_saves_queued_behind_a_batch_form_the_next_one() -> None:
    sink = Sink()
    group = GroupCommit(sink.write_batch, sink.write_one)

    outcomes = save_together(group, [[event()] for _ in range(6)])

    assert [len(b) for b in sink.batches] == [6]
    assert sorted(i for outcome in outcomes for i in outcome) == [1, 2, 3, 4, 5, 6]
    assert not group.leading and not group.queue


def test_a_batch_holds_at_most_max_batch_saves() -> None:
    sink = Sink()
    group = GroupCommit(sink.write_batch, sink.write_one, max_batch=3)

    save_together(group, [[event()] for _ in range(8)])

    assert [len(b) for b in sink.batches] == [3, 3, 2]


def test_a_refused_save_fails_only_its_own_caller() -> None:
    sink = Sink(refuse=lambda pending: pending.kwargs["n"] == 2)
    group = GroupCommit(sink.write_batch, sink.write_one)

    outcomes = save_together(group, [[event()] for _ in range(5)])

    assert isinstance(outcomes.pop(2), IntegrityError)
    assert all(isinstance(outcome, list) and len(outcome) == 1 for outcome in outcomes)
    assert sink.alone == []


def broken(batch: list[PendingSave], hand_over: HandOver | None) -> None:
    raise OperationalError("server closed the connection")


def test_a_failed_batch_is_written_again_one_save_at_a_time() -> None:
    sink = Sink()

    def write_one(stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        if kwargs["n"] == 1:
            raise IntegrityError("taken meanwhile")
        return sink.write_one(stored_events, **kwargs)

    group = GroupCommit(broken, write_one)
    outcomes = save_together(group, [[event()], [event()], [event()]])

    assert isinstance(outcomes[1], IntegrityError)
    assert sorted(outcomes[0] + outcomes[2]) == [1, 2]
    assert len(sink.alone) == 2


def test_a_store_that_is_away_fails_the_rest_without_trying_them() -> None:
    tried: list[int] = []

    def write_one(stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        tried.append(kwargs["n"])
        raise OperationalError("server closed the connection")

    group = GroupCommit(broken, write_one)
    outcomes = save_together(group, [[event()] for _ in range(3)])

    assert all(isinstance(outcome, OperationalError) for outcome in outcomes)
    assert len(tried) == 1


@pytest.mark.parametrize("in_flight", [1, 2])
def test_the_next_batch_is_written_while_one_waits_for_its_commit(in_flight: int) -> None:
    sink = Sink()
    second_written = threading.Event()
    overlapped: list[bool] = []

    def write_batch(batch: list[PendingSave], hand_over: HandOver | None) -> None:
        sink.write_batch(batch, hand_over)
        if len(sink.batches) > 1:
            second_written.set()
            return
        wait_for(lambda: len(group.queue) == 2)
        if hand_over is not None:
            hand_over()  # only the commit is left
        # The commit: with batches overlapping, the next one is written meanwhile.
        overlapped.append(second_written.wait(timeout=10 if in_flight > 1 else 0.3))

    group = GroupCommit(write_batch, sink.write_one, in_flight=in_flight)
    outcomes = save_from_threads(group, [[event()] for _ in range(3)])

    assert all(isinstance(outcome, list) for outcome in outcomes)
    assert [len(b) for b in sink.batches] == [1, 2]
    assert overlapped == [in_flight > 1]


@given(
    callers=st.integers(1, 12),
    max_batch=st.integers(1, 6),
    in_flight=st.integers(1, 3),
    refused=st.sets(st.integers(0, 11)),
)
def test_every_save_is_written_once_and_answered_with_its_own_outcome(
    callers: int, max_batch: int, in_flight: int, refused: set[int]
) -> None:
    sink = Sink(refuse=lambda pending: pending.kwargs["n"] in refused)
    group = GroupCommit(sink.write_batch, sink.write_one, max_batch=max_batch, in_flight=in_flight)
    saves = [[event(v) for v in range(1, 1 + i % 3 + 1)] for i in range(callers)]

    outcomes = save_from_threads(group, saves)

    written = [pending.kwargs["n"] for batch in sink.batches for pending in batch]
    assert sorted(written) == list(range(callers))
    assert all(len(batch) <= max_batch for batch in sink.batches)
    for n, outcome in enumerate(outcomes):
        if n in refused:
            assert isinstance(outcome, IntegrityError)
        else:
            assert isinstance(outcome, list) and len(outcome) == len(saves[n])
    ids = [i for outcome in outcomes if isinstance(outcome, list) for i in outcome]
    assert len(set(ids)) == len(ids)
    assert not group.leading and not group.queue


def test_the_queue_writes_into_sqlite_one_transaction_per_batch(tmp_path: Path) -> None:
    # The same queue over another store: each batch is one SQLite transaction.
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerSQLiteRecorder)
    transactions: list[int] = []

    def write_batch(batch: list[PendingSave], hand_over: HandOver | None) -> None:
        with recorder.datastore.transaction(commit=True) as c:
            ids = [recorder._insert_events(c, p.stored_events, **p.kwargs) for p in batch]
        transactions.append(len(batch))
        for pending, mine in zip(batch, ids, strict=True):
            pending.succeed(mine)

    group = GroupCommit(write_batch, recorder.insert_events)
    saves = [[event(1), event(1)] for _ in range(5)]
    outcomes = save_together(group, saves)

    assert transactions == [5]
    assert sorted(i for outcome in outcomes for i in outcome) == list(range(1, 11))
    for save, outcome in zip(saves, outcomes, strict=True):
        notes = recorder.select_notifications(outcome[0], 2)
        assert [n.originator_id for n in notes] == [e.originator_id for e in save]
    assert len(recorder.select_events(saves[0][0].originator_id)) == 1
