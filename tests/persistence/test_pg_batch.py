"""A group-commit batch on PostgreSQL (``persistence.pg_batch``), written
by the batch writer alone (no queue): one transaction per batch, every
save settled with its own outcome, and the same outcome as if the saves had
been written one at a time. Its writer connections: ``pg_writers``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from part_stores import create_tables, datastore_for, event, library_recorder
from psycopg.sql import SQL, Identifier

from ledger.persistence import chain
from ledger.persistence.group_commit import PendingSave
from ledger.persistence.pg_batch import BatchWriter
from ledger.persistence.pg_batch_sql import batch_statements
from ledger.persistence.pg_chain import PostgresChain
from ledger.persistence.pg_idempotency import PostgresIdempotency
from ledger.persistence.pg_writers import WriterConnections
from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.persistence.records import IdempotencyKeyConflict, IdempotencyRecord
from ledger.persistence.side_rows import SideRows

pytestmark = pytest.mark.postgres


@dataclass
class Batches:
    """A batch writer composed of its parts, on tables of its own."""

    datastore: PostgresDatastore
    writer: BatchWriter
    library: Any  # the library's recorder: the events table, and reading it
    idempotency: PostgresIdempotency
    hash_chain: PostgresChain

    def write(self, saves: list[tuple[list[StoredEvent], dict[str, Any]]]) -> list[Any]:
        batch = [PendingSave(events, kwargs) for events, kwargs in saves]
        self.writer.write(batch, None, chained=True)
        assert all(pending.done for pending in batch)
        return [pending.error or pending.ids for pending in batch]


@pytest.fixture
def batches(pg_datastore: PostgresDatastore) -> Iterator[Batches]:
    library = library_recorder(pg_datastore)
    idempotency = PostgresIdempotency(pg_datastore)
    hash_chain = PostgresChain(pg_datastore, library.events_table_name)
    create_tables(pg_datastore, [*idempotency.create_statements, *hash_chain.create_statements])
    writers = WriterConnections(pg_datastore)
    statements = batch_statements(
        pg_datastore, library.events_table_name, library.lock_table_statements,
        library.channel_name, idempotency, hash_chain,
    )  # fmt: skip
    writer = BatchWriter(statements, writers, hash_chain, SideRows(idempotency))
    yield Batches(pg_datastore, writer, library, idempotency, hash_chain)
    writers.close()


def key(name: str, order_id: UUID) -> dict[str, Any]:
    return {"idempotency": IdempotencyRecord(name, "f" * 64, str(order_id), 1, NOW)}


NOW = datetime(2026, 6, 30, 9, 15, tzinfo=UTC)


def transactions(datastore: PostgresDatastore, ids: list[int]) -> set[int]:
    """The transactions (xmin) that wrote the events with these notification ids."""
    statement = SQL(
        "SELECT DISTINCT xmin::text::bigint AS x FROM {} WHERE notification_id = ANY(%s)"
    )
    with datastore.transaction(commit=False) as curs:
        curs.execute(statement.format(Identifier(datastore.schema, "stored_events")), (ids,))
        return {row["x"] for row in curs.fetchall()}


def chain_rows(datastore: PostgresDatastore, orders: list[UUID]) -> dict[tuple[str, int], bytes]:
    statement = SQL("SELECT originator_id, version, hash FROM {} WHERE originator_id = ANY(%s)")
    with datastore.transaction(commit=False) as curs:
        curs.execute(statement.format(Identifier(datastore.schema, chain.CHAIN_TABLE)), (orders,))
        return {(str(r["originator_id"]), r["version"]): bytes(r["hash"]) for r in curs}


def test_a_batch_is_one_transaction_and_each_save_gets_its_own_ids(batches: Batches) -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    saves = [([event(a)], {}), ([event(b, 1), event(b, 2)], key("k", b)), ([event(c)], {})]

    outcomes = batches.write(saves)

    assert [len(ids) for ids in outcomes] == [1, 2, 1]
    ids = [i for outcome in outcomes for i in outcome]
    assert ids == list(range(ids[0], ids[0] + 4))  # in the batch's order, none burnt
    assert len(transactions(batches.datastore, ids)) == 1
    notes = batches.library.select_notifications(ids[0], 4)
    assert [(n.originator_id, n.originator_version) for n in notes] == [
        (a, 1), (b, 1), (b, 2), (c, 1)
    ]  # fmt: skip
    assert batches.idempotency.find("k") == key("k", b)["idempotency"]
    events = [e for events, _ in saves for e in events]
    assert chain_rows(batches.datastore, [a, b, c]) == {
        (o, v): h for o, v, h in chain.chain_links(events, {})
    }


def test_the_links_committed_are_remembered_for_the_next_batch(batches: Batches) -> None:
    order = uuid4()
    batches.write([([event(order, 1)], {}), ([event(uuid4())], {})])

    wanted, known = batches.hash_chain.wanted([event(order, 2)])

    assert wanted == [] and list(known) == [str(order)]


def test_the_lead_is_handed_on_once_only_the_commit_is_left(batches: Batches) -> None:
    batch = [PendingSave([event()], {}), PendingSave([event()], {})]
    handed: list[bool] = []

    batches.writer.write(batch, lambda: handed.append(any(p.done for p in batch)), chained=True)

    assert handed == [False]  # once, before any caller had its outcome
    assert all(p.done and p.error is None for p in batch)


def test_a_refused_stale_save_does_not_decide_where_the_others_link(batches: Batches) -> None:
    # A caller with an older read of the order, in the same batch as one
    # with the latest: the latter links to the stored link before it.
    order = uuid4()
    batches.write([([event(order, 1, b"one")], {}), ([event()], {})])

    outcomes = batches.write([([event(order, 2, b"two")], {}), ([event(order, 1, b"old")], {})])

    assert isinstance(outcomes[0], list) and isinstance(outcomes[1], IntegrityError)
    stored = [event(order, 1, b"one"), event(order, 2, b"two")]
    assert chain_rows(batches.datastore, [order]) == {
        (o, v): h for o, v, h in chain.chain_links(stored, {})
    }


def test_saves_that_would_conflict_are_refused_without_burning_ids(batches: Batches) -> None:
    taken = uuid4()
    batches.write([([event(taken)], key("used", taken)), ([event(uuid4())], {})])
    before = batches.library.max_notification_id()
    fine, twice = uuid4(), uuid4()
    saves = [
        ([event(taken)], {}),  # the version is stored
        ([event(uuid4())], key("used", uuid4())),  # the key is stored
        ([event(fine)], key("new", fine)),
        ([event(uuid4())], key("new", uuid4())),  # the key was taken earlier in the batch
        ([event(twice), event(twice)], {}),  # one version twice
        ([event(taken)], key("used", taken)),  # both: the key is what is reported
    ]

    outcomes = batches.write(saves)

    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == [
        "IntegrityError", "IdempotencyKeyConflict", "list",
        "IdempotencyKeyConflict", "IntegrityError", "IdempotencyKeyConflict",
    ]  # fmt: skip
    assert outcomes[2] == [before + 1]
    assert batches.library.max_notification_id() == before + 1


def test_a_conflict_the_checks_could_not_see_fails_the_batch_and_nothing_is_written(
    batches: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if another process committed the version between the read and the lock.
    taken = uuid4()
    batches.write([([event(taken)], {}), ([event(uuid4())], {})])
    monkeypatch.setattr(batches.writer, "_read", lambda *args: (set(), set(), []))
    other = uuid4()
    batch = [PendingSave([event(other)], key("k", other)), PendingSave([event(taken)], {})]

    with pytest.raises(Exception, match="duplicate key"):
        batches.writer.write(batch, None, chained=False)

    assert batches.library.select_events(other) == []
    assert batches.idempotency.find("k") is None
    # The connection was discarded; the next batch gets a fresh one.
    monkeypatch.undo()
    assert isinstance(batches.write([([event(other)], {}), ([event(uuid4())], {})])[0], list)
    assert len(batches.library.select_events(other)) == 1


@dataclass
class Oracle:
    """The same saves written one transaction each (the library's path)."""

    recorder: LedgerPostgresRecorder

    def write(self, saves: list[tuple[list[StoredEvent], dict[str, Any]]]) -> list[Any]:
        outcomes: list[Any] = []
        for events, kwargs in saves:
            try:
                outcomes.append(self.recorder.insert_events(events, **kwargs))
            except IntegrityError as e:
                outcomes.append(e)
        return outcomes


@pytest.fixture
def oracle(postgres_url: str) -> Iterator[Oracle]:
    # A schema of its own in the session's database (dropped with it).
    with datastore_for(postgres_url.replace("?schema=", "?schema=seq_")) as datastore:
        recorder = LedgerPostgresRecorder(datastore)
        recorder.create_table()
        recorder.group_commit = False
        yield Oracle(recorder)
        recorder.close_writer()


# A save: its order, how it chose its first version (0: after every event of
# the order before it in the batch; 1, 2: after the events stored before
# the batch, or one before that: a stale read), its number of events, its key.
Save = tuple[int, int, int, str | None]


@hypothesis_settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stored=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
    saves=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 2),
            st.integers(1, 2),
            st.sampled_from([None, None, "a", "b", "c"]),
        ),
        min_size=2,
        max_size=8,
    ),
)
def test_a_batch_ends_as_its_saves_written_one_at_a_time_would(
    batches: Batches, oracle: Oracle, stored: tuple[int, int, int], saves: list[Save]
) -> None:
    orders = [uuid4() for _ in range(3)]
    keys = {name: f"{name}-{uuid4()}" for name in "abc"}  # fresh keys per example
    for events, kwargs in _stored_before(orders, stored, keys["a"]):
        batches.write([(events, kwargs), ([event()], {})])
        oracle.write([(events, kwargs)])
    batch = _batch(orders, stored, saves, keys)
    start = batches.library.max_notification_id() or 0

    outcomes = batches.write(batch)
    expected = oracle.write(batch)

    assert [_kind(o) for o in outcomes] == [_kind(o) for o in expected]
    ids = [i for o in outcomes if isinstance(o, list) for i in o]
    assert ids == list(range(start + 1, start + 1 + len(ids)))
    for order in orders:
        mine = [(e.originator_version, e.state) for e in batches.library.select_events(order)]
        theirs = [(e.originator_version, e.state) for e in oracle.recorder.select_events(order)]
        assert mine == theirs
        if [v for v, _ in mine] == list(range(1, len(mine) + 1)):  # see ``_batch``
            assert chain_rows(batches.datastore, [order]) == chain_rows(
                oracle.recorder.datastore, [order]
            )
    for name in keys.values():
        assert batches.idempotency.find(name) == oracle.recorder.find_idempotency(name)


def _stored_before(
    orders: list[UUID], stored: tuple[int, ...], key_name: str
) -> list[tuple[list[StoredEvent], dict[str, Any]]]:
    return [
        ([event(o, v, b"before") for v in range(1, n + 1)], key(key_name, o) if i == 0 else {})
        for i, (o, n) in enumerate(zip(orders, stored, strict=True))
        if n
    ]


def _batch(
    orders: list[UUID], stored: tuple[int, ...], saves: list[Save], keys: dict[str, str]
) -> list[tuple[list[StoredEvent], dict[str, Any]]]:
    """The saves' events. A save after one refused in the same batch leaves
    a gap in its order's versions (no caller could, in the application);
    the links across a gap differ (genesis alone, the previous save in a
    batch), so the chains are compared only for orders without one."""
    submitted = list(stored)
    batch = []
    for o, read, count, k in saves:
        first = submitted[o] + 1 if read == 0 else max(stored[o] + 2 - read, 1)
        events = [event(orders[o], v, f"{o}.{v}".encode()) for v in range(first, first + count)]
        submitted[o] = max(submitted[o], first + count - 1)
        batch.append((events, key(keys[k], orders[o]) if k else {}))
    return batch


def _kind(outcome: Any) -> str:
    if isinstance(outcome, IdempotencyKeyConflict):
        return "key"
    return "version" if isinstance(outcome, IntegrityError) else "stored"


def test_a_writer_connection_is_kept_for_the_next_batch(pg_datastore: PostgresDatastore) -> None:
    writers = WriterConnections(pg_datastore)
    conn = writers.take()
    writers.keep(conn)
    assert writers.take() is conn

    writers.discard(conn)
    fresh = writers.take()
    assert conn.closed and fresh is not conn and not fresh.closed

    fresh.close()  # lost while idle: never handed out again
    writers.keep(fresh)
    again = writers.take()
    assert again is not fresh and not again.closed

    writers.keep(again)
    available = pg_datastore.pool.get_stats().get("pool_available", 0)
    writers.close()
    assert pg_datastore.pool.get_stats()["pool_available"] == available + 1
