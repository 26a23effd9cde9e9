"""The hash chain's rows, one part per backend (``persistence.chain_rows``,
``persistence.pg_chain``), each on its own tables: the links written are
``chain.chain_links`` of every event of an order in turn, a save links to
the one before it, and a failed save leaves no link."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from part_stores import create_tables, event, library_recorder
from psycopg.sql import SQL, Identifier

from ledger.persistence import chain
from ledger.persistence.chain_rows import MemoryChain, SQLiteChain
from ledger.persistence.pg_chain import PostgresChain, hashes_in_order


class ChainStore:
    """One backend's chain part, driven the way its recorder drives it."""

    def __init__(self, backend: str, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        if backend == "memory":
            self.memory = MemoryChain(threading.RLock())
        elif backend == "sqlite":
            self.datastore: Any = request.getfixturevalue("sqlite_datastore")
            create_tables(self.datastore, SQLiteChain.create_statements)
            self.sqlite = SQLiteChain()
        else:
            self.datastore = request.getfixturevalue("pg_datastore")
            self.pg = PostgresChain(self.datastore, "stored_events")
            create_tables(self.datastore, self.pg.create_statements)

    def save(self, events: Sequence[StoredEvent], *, commit: bool = True) -> None:
        if self.backend == "memory":
            self.memory.write(events)
        elif self.backend == "sqlite":
            with self.datastore.transaction(commit=commit) as c:
                self.sqlite.write(c, events)
        else:
            self._save_postgres(events, commit)

    def _save_postgres(self, events: Sequence[StoredEvent], commit: bool) -> None:
        wanted, known = self.pg.wanted(events)
        with self.datastore.transaction(commit=commit) as curs:
            if wanted:
                self.pg.select_previous(curs, wanted)
            links = self.pg.links(events, known, curs.fetchall() if wanted else ())
            self.pg.insert(curs, links)
        if commit:
            self.pg.recent.remember(links)

    def links(self) -> dict[tuple[str, int], bytes]:
        if self.backend == "memory":
            return dict(self.memory.links)
        table = chain.CHAIN_TABLE
        if self.backend == "postgres":
            table = Identifier(self.datastore.schema, table).as_string(None)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id, version, hash FROM {table}")
            rows = c.fetchall()
        return {
            (chain.originator_text(str(r["originator_id"])), r["version"]): bytes(r["hash"])
            for r in rows
        }


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture(params=["memory", "sqlite", POSTGRES])
def store(request: pytest.FixtureRequest) -> ChainStore:
    return ChainStore(request.param, request)


@pytest.fixture(params=["sqlite", POSTGRES])
def transactional(request: pytest.FixtureRequest) -> ChainStore:
    return ChainStore(request.param, request)


def expected(events: Sequence[StoredEvent]) -> dict[tuple[str, int], bytes]:
    """The chain as ``chain`` computes it from all events at once."""
    return {(o, v): h for o, v, h in chain.chain_links(events, {})}


def test_saves_of_an_order_chain_onto_each_other(store: ChainStore) -> None:
    order, other = uuid4(), uuid4()
    first = [event(order, 1, b"a"), event(other, 1, b"x")]
    second = [event(order, 2, b"b"), event(order, 3, b"c")]
    third = [event(order, 4, b"d"), event(other, 2, b"y")]
    for save in (first, second, third):
        store.save(save)

    assert store.links() == expected(first + second + third)


def test_a_missing_previous_link_is_the_genesis(store: ChainStore) -> None:
    # A store written before the chain existed: verification reports the gap.
    late = event(uuid4(), 5, b"late")
    store.save([late])

    [digest] = store.links().values()
    key = chain.originator_text(late.originator_id)
    assert digest == chain.link_hash(chain.GENESIS, key, 5, late.topic, late.state)


def test_a_rolled_back_save_leaves_no_link(transactional: ChainStore) -> None:
    order = uuid4()
    transactional.save([event(order, 1)])
    transactional.save([event(order, 2)], commit=False)

    assert list(transactional.links()) == [(str(order), 1)]


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(saves=st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=4), max_size=6))
def test_any_sequence_of_saves_writes_the_chain_of_all_events(
    store: ChainStore, saves: list[list[int]]
) -> None:
    orders = [uuid4() for _ in range(3)]
    versions = dict.fromkeys(orders, 0)
    written: list[StoredEvent] = []
    for save in saves:
        events = []
        for which in save:
            versions[orders[which]] += 1
            events.append(event(orders[which], versions[orders[which]], bytes([which]) * 3))
        store.save(events)
        written += events

    mine = {k: h for k, h in store.links().items() if UUID(k[0]) in orders}
    assert mine == expected(written)


@pytest.mark.postgres
def test_postgres_reads_no_previous_link_it_committed_itself(
    pg_datastore: PostgresDatastore,
) -> None:
    part = PostgresChain(pg_datastore, "stored_events")
    order = uuid4()
    assert part.wanted([event(order, 3)]) == ([(str(order), 2)], {})

    links = part.links([event(order, 1), event(order, 2)], {})
    part.recent.remember(links)

    assert part.wanted([event(order, 3)]) == ([], {str(order): links[-1][2]})
    assert part.wanted([event(order, 4)])[0] == [(str(order), 3)]  # not the head: read it


@pytest.mark.postgres
def test_postgres_links_never_fail_a_save_themselves(pg_datastore: PostgresDatastore) -> None:
    # The events' INSERT must be the statement that reports a version conflict.
    part = PostgresChain(pg_datastore, "stored_events")
    create_tables(pg_datastore, part.create_statements)
    links = part.links([event(uuid4(), 1)], {})
    for _ in range(2):
        with pg_datastore.transaction(commit=True) as curs:
            part.insert(curs, links)


@pytest.mark.postgres
def test_postgres_writes_events_and_links_in_one_statement(
    pg_datastore: PostgresDatastore,
) -> None:
    part = PostgresChain(pg_datastore, "stored_events")
    create_tables(pg_datastore, part.create_statements)
    recorder = library_recorder(pg_datastore)
    order = uuid4()
    events = [event(order, 2, b"two"), event(uuid4(), 1), event(order, 1, b"one")]
    links = part.links(events, {})

    ids = _insert_events_and_links(pg_datastore, part, events, links)

    assert ids == sorted(ids) and len(ids) == 3
    stored = recorder.select_notifications(ids[0], 3)
    assert [(n.originator_id, n.originator_version) for n in stored] == [
        (e.originator_id, e.originator_version) for e in events
    ]
    table = Identifier(pg_datastore.schema, chain.CHAIN_TABLE)
    with pg_datastore.transaction(commit=False) as curs:
        curs.execute(SQL("SELECT originator_id, version, hash FROM {}").format(table))
        rows = {(str(r["originator_id"]), r["version"]): bytes(r["hash"]) for r in curs}
    assert rows == expected(events)

    with pytest.raises(IntegrityError):  # a version taken: nothing of it stays
        _insert_events_and_links(pg_datastore, part, [event(order, 3), event(order, 2)], [])
    assert len(recorder.select_events(order)) == 2


def _insert_events_and_links(
    datastore: PostgresDatastore,
    part: PostgresChain,
    events: list[StoredEvent],
    links: list[chain.Link],
) -> list[int]:
    hashes = hashes_in_order(events, links) if links else [b"\0" * 32 for _ in events]
    columns = [
        [e.originator_id for e in events],
        [e.originator_version for e in events],
        [e.topic for e in events],
        [e.state for e in events],
        hashes,
    ]
    with datastore.transaction(commit=True) as curs:
        curs.execute(part.insert_events_and_links_statement, columns)
        return [row["notification_id"] for row in curs.fetchall()]


def test_sqlite_stores_ids_as_its_events_table_does(sqlite_datastore: SQLiteDatastore) -> None:
    # Hex, so the chain joins the events (and the audit reads them together).
    create_tables(sqlite_datastore, SQLiteChain.create_statements)
    order = uuid4()
    with sqlite_datastore.transaction(commit=True) as c:
        SQLiteChain().write(c, [event(order, 1)])
    with sqlite_datastore.transaction(commit=False) as c:
        c.execute(f"SELECT originator_id FROM {chain.CHAIN_TABLE}")
        assert [r["originator_id"] for r in c.fetchall()] == [order.hex]
