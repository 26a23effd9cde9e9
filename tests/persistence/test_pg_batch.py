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
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from part_stores import create_tables, event, library_recorder
from psycopg.sql import SQL, Identifier

from ledger.persistence import chain
from ledger.persistence.group_commit import PendingSave
from ledger.persistence.pg_batch import BatchWriter, batch_statements
from ledger.persistence.pg_chain import PostgresChain
from ledger.persistence.pg_idempotency import PostgresIdempotency
from ledger.persistence.pg_writers import WriterConnections
from ledger.persistence.records import IdempotencyRecord
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
