"""Group commit on PostgreSQL: concurrent saves of one process share one
transaction, and each caller still gets its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from ledger.persistence import IdempotencyKeyConflict, IdempotencyRecord, chain
from ledger.persistence import pg_batch as postgres_module
from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.settings import Settings, eventsourcing_env

pytestmark = pytest.mark.postgres

Save = tuple[list[StoredEvent], dict[str, Any]]


@pytest.fixture
def recorder(postgres_url: str) -> Iterator[LedgerPostgresRecorder]:
    settings = Settings(database_url=postgres_url, pool_size=4)
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerPostgresRecorder)
    assert recorder.group_commit
    yield recorder
    factory.close()


def event(originator_id: UUID, version: int = 1, state: bytes = b'{"n": 1}') -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=version,
        topic="ledger.aggregates.order:Order.Received",
        state=state,
    )


def key(name: str, order_id: UUID) -> dict[str, Any]:
    record = IdempotencyRecord(
        key=name,
        fingerprint="f" * 64,
        order_id=str(order_id),
        version=1,
        recorded_at=datetime(2026, 6, 30, 9, 15, tzinfo=UTC),
    )
    return {"idempotency": record}


def save_together(recorder: LedgerPostgresRecorder, saves: list[Save]) -> list[Any]:
    """Every save from a thread of its own, all queued before any is written
    (so they form one batch); each thread's notification ids or exception."""
    outcomes: list[Any] = [None] * len(saves)
    with recorder._batch_lock:
        recorder._batch_leading = True  # as if a batch were being written now

    def run(i: int) -> None:
        events, kwargs = saves[i]
        try:
            outcomes[i] = recorder.insert_events(events, **kwargs)
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(saves))]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(recorder._batch_queue) == len(saves))
    with recorder._batch_lock:  # that batch ends: the first one queued leads the next
        first = recorder._batch_queue.pop(0)
    first.wake()
    for thread in threads:
        thread.join(timeout=30)
    assert not recorder._batch_queue
    return outcomes


def _wait_for(check: Callable[[], bool]) -> None:
    for _ in range(1000):
        if check():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the saves never all queued")


def transactions_of(recorder: LedgerPostgresRecorder, ids: list[int]) -> set[int]:
    """The transactions (xmin) that wrote the events with these notification ids."""
    statement = SQL(
        "SELECT DISTINCT xmin::text::bigint AS x FROM {} WHERE notification_id = ANY(%s)"
    )
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.transaction() as curs:
        curs.execute(statement.format(table), (ids,))
        return {row["x"] for row in curs.fetchall()}


def test_concurrent_saves_are_written_in_one_transaction(recorder: LedgerPostgresRecorder) -> None:
    before = recorder.max_notification_id() or 0
    orders = [uuid4() for _ in range(16)]
    saves: list[Save] = [([event(o)], {}) for o in orders]

    outcomes = save_together(recorder, saves)

    ids = [i for outcome in outcomes for i in outcome]
    assert sorted(ids) == list(range(before + 1, before + 17))  # contiguous, none burnt
    assert len(transactions_of(recorder, ids)) == 1
    for order_id, outcome in zip(orders, outcomes, strict=True):
        [stored] = recorder.select_events(order_id)
        notification = recorder.select_notifications(outcome[0], 1)[0]
        assert notification.originator_id == order_id == stored.originator_id


def test_a_version_conflict_fails_only_its_own_save(recorder: LedgerPostgresRecorder) -> None:
    taken = uuid4()
    recorder.insert_events([event(taken, 1, b'{"first": true}')])
    before = recorder.max_notification_id() or 0
    others = [uuid4() for _ in range(15)]
    saves: list[Save] = [([event(o)], {}) for o in others[:7]]
    saves.append(([event(taken, 1, b'{"second": true}')], {}))
    saves += [([event(o)], {}) for o in others[7:]]

    outcomes = save_together(recorder, saves)

    conflict = outcomes.pop(7)
    assert isinstance(conflict, IntegrityError)
    assert not isinstance(conflict, IdempotencyKeyConflict)
    assert [e.state for e in recorder.select_events(taken)] == [b'{"first": true}']
    ids = [i for outcome in outcomes for i in outcome]
    assert sorted(ids) == list(range(before + 1, before + 16))
    assert len(transactions_of(recorder, ids)) == 1
    assert all(len(recorder.select_events(o)) == 1 for o in others)


def test_two_saves_of_one_version_in_a_batch_store_the_first(
    recorder: LedgerPostgresRecorder,
) -> None:
    order_id = uuid4()
    recorder.insert_events([event(order_id, 1)])
    saves: list[Save] = [
        ([event(order_id, 2, b'{"a": 1}')], {}),
        ([event(uuid4())], {}),
        ([event(order_id, 2, b'{"b": 1}')], {}),
    ]

    outcomes = save_together(recorder, saves)

    assert isinstance(outcomes[2], IntegrityError)
    assert [e.state for e in recorder.select_events(order_id)][1] == b'{"a": 1}'
    assert not isinstance(outcomes[1], Exception)


def test_idempotency_conflicts_inside_a_batch(recorder: LedgerPostgresRecorder) -> None:
    first = uuid4()
    recorder.insert_events([event(first)], **key("used", first))
    a, b, c, d = (uuid4() for _ in range(4))
    saves: list[Save] = [
        ([event(a)], key("used", a)),  # key stored before the batch
        ([event(b)], key("twice", b)),
        ([event(c)], key("twice", c)),  # key taken earlier in the same batch
        ([event(d)], key("fresh", d)),
        # A reused key is reported as such even when the version conflicts too.
        ([event(first)], key("used", first)),
    ]

    outcomes = save_together(recorder, saves)

    assert isinstance(outcomes[0], IdempotencyKeyConflict)
    assert isinstance(outcomes[2], IdempotencyKeyConflict)
    assert isinstance(outcomes[4], IdempotencyKeyConflict)
    assert not isinstance(outcomes[1], Exception)
    assert not isinstance(outcomes[3], Exception)
    assert recorder.select_events(a) == [] and recorder.select_events(c) == []
    assert len(recorder.select_events(b)) == len(recorder.select_events(d)) == 1
    twice, used = recorder.find_idempotency("twice"), recorder.find_idempotency("used")
    assert twice is not None and twice.order_id == str(b)
    assert used is not None and used.order_id == str(first)
    assert recorder.find_idempotency("fresh") is not None


def test_the_hash_chain_links_across_and_within_batches(
    recorder: LedgerPostgresRecorder,
) -> None:
    order_id, other = uuid4(), uuid4()
    recorder.insert_events([event(order_id, 1)])
    save_together(recorder, [([event(order_id, 2), event(order_id, 3)], {}), ([event(other)], {})])
    save_together(recorder, [([event(order_id, 4)], {}), ([event(other, 2)], {})])

    table = Identifier(recorder.datastore.schema, chain.CHAIN_TABLE)
    with recorder.datastore.transaction() as curs:
        curs.execute(SQL("SELECT * FROM {} ORDER BY version").format(table))
        rows = curs.fetchall()
    stored = {(str(r["originator_id"]), r["version"]): bytes(r["hash"]) for r in rows}
    for originator in (order_id, other):
        expected = chain.chain_links(recorder.select_events(originator), {})
        assert [stored[(o, v)] for o, v, _ in expected] == [h for _, _, h in expected]
    assert len(stored) == 6


def test_many_threads_saving_at_once_lose_nothing(recorder: LedgerPostgresRecorder) -> None:
    # No gate: batches form (or not) by themselves under real contention.
    before = recorder.max_notification_id() or 0
    orders = [uuid4() for _ in range(32)]
    results: dict[UUID, Any] = {}

    def run(order_id: UUID) -> None:
        for version in range(1, 6):
            results[order_id] = recorder.insert_events([event(order_id, version)])

    threads = [threading.Thread(target=run, args=(o,)) for o in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    notifications = recorder.select_notifications(before + 1, 1000)
    assert [n.id for n in notifications] == list(range(before + 1, before + 161))
    for order_id in orders:
        versions = [n.originator_version for n in notifications if n.originator_id == order_id]
        assert versions == [1, 2, 3, 4, 5]


def test_a_conflict_committed_after_the_pre_check_fails_only_its_save(
    recorder: LedgerPostgresRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if another process committed the version between the batch's read
    # and its lock: the pre-check sees nothing, the INSERT hits the unique
    # index, and the batch is retried one save per transaction.
    taken = uuid4()
    recorder.insert_events([event(taken, 1, b'{"first": true}')])
    blind = postgres_module._refuse_conflicts
    monkeypatch.setattr(
        postgres_module,
        "_refuse_conflicts",
        lambda batch, versions, keys: blind(batch, set(), set()),
    )
    others = [uuid4() for _ in range(5)]
    saves: list[Save] = [([event(o)], {}) for o in others[:2]]
    saves.append(([event(taken, 1, b'{"second": true}')], key("late", taken)))
    saves += [([event(o)], {}) for o in others[2:]]

    outcomes = save_together(recorder, saves)

    conflict = outcomes.pop(2)
    assert isinstance(conflict, IntegrityError)
    assert not isinstance(conflict, IdempotencyKeyConflict)
    assert recorder.find_idempotency("late") is None
    assert [e.state for e in recorder.select_events(taken)] == [b'{"first": true}']
    assert all(isinstance(o, list) and len(o) == 1 for o in outcomes)
    assert all(len(recorder.select_events(o)) == 1 for o in others)
    # The writer connection was replaced and the next batch uses it normally.
    assert isinstance(recorder.insert_events([event(uuid4())]), list)
