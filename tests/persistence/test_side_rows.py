"""Side rows (``persistence.side_rows``): rows a save writes beside its
events, in their transaction, each table naming its own conflict.

Shown with a second side table of the tests' own (labels, one per save)
composed into the real recorders beside the idempotency keys: its rows are
written with the events or not at all, on SQLite and on PostgreSQL, alone
and in a group-commit batch."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
from part_stores import event
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.persistence.records import IdempotencyKeyConflict, IdempotencyRecord
from ledger.persistence.side_rows import SideRows
from ledger.persistence.sqlite import LedgerSQLiteRecorder

LABELS = "test_labels"


class LabelTaken(IntegrityError):
    pass


def label_rows(kwargs: dict[str, Any]) -> list[str]:
    return [kwargs["label"]] if "label" in kwargs else []


class SQLiteLabels:
    table = LABELS
    create = f"CREATE TABLE {LABELS} (label TEXT PRIMARY KEY)"

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def rows(self, kwargs: dict[str, Any]) -> Sequence[str]:
        return label_rows(kwargs)

    def insert(self, cursor: SQLiteCursor, rows: Sequence[str]) -> None:
        try:
            cursor.executemany(f"INSERT INTO {LABELS} VALUES (?)", [(r,) for r in rows])
        except sqlite3.IntegrityError as e:
            raise LabelTaken(rows) from e

    def conflict(self, kwargs: dict[str, Any]) -> IntegrityError:
        return LabelTaken(label_rows(kwargs))

    def taken(self, kwargs: dict[str, Any]) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT 1 FROM {LABELS} WHERE label = ?", label_rows(kwargs))
            return c.fetchone() is not None


class PostgresLabels:
    table = LABELS

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.name = Identifier(datastore.schema, LABELS)
        self.create: Composed = SQL("CREATE TABLE {} (label text PRIMARY KEY)").format(self.name)

    def rows(self, kwargs: dict[str, Any]) -> Sequence[str]:
        return label_rows(kwargs)

    def insert(self, cursor: Cursor[DictRow], rows: Sequence[str]) -> None:
        statement = SQL("INSERT INTO {} SELECT unnest(%s::text[])").format(self.name)
        cursor.execute(statement, (list(rows),), prepare=False)

    def conflict(self, kwargs: dict[str, Any]) -> IntegrityError:
        return LabelTaken(label_rows(kwargs))

    def taken(self, kwargs: dict[str, Any]) -> bool:
        return bool(self.stored(label_rows(kwargs)))

    def stored(self, labels: list[str]) -> list[str]:
        with self.datastore.transaction(commit=False) as curs:
            statement = SQL("SELECT label FROM {} WHERE label = ANY(%s) ORDER BY label").format(
                self.name
            )
            curs.execute(statement, (labels,))
            return [row["label"] for row in curs.fetchall()]


class LabelledSQLiteRecorder(LedgerSQLiteRecorder):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self.labels = SQLiteLabels(datastore)
        self.side_rows.add(self.labels)
        self.create_table_statements.append(self.labels.create)


class LabelledPostgresRecorder(LedgerPostgresRecorder):
    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore)
        self.labels = PostgresLabels(datastore)
        self.side_rows.add(self.labels)
        self.sql_create_statements.append(self.labels.create)


def key(name: str) -> IdempotencyRecord:
    return IdempotencyRecord(name, "f" * 64, str(uuid4()), 1, datetime.now(UTC))


@pytest.fixture
def lite(sqlite_datastore: SQLiteDatastore) -> LabelledSQLiteRecorder:
    recorder = LabelledSQLiteRecorder(sqlite_datastore)
    recorder.create_table()
    return recorder


@pytest.fixture
def pg(pg_datastore: PostgresDatastore) -> Iterator[LabelledPostgresRecorder]:
    recorder = LabelledPostgresRecorder(pg_datastore)
    recorder.create_table()
    yield recorder
    recorder.close_writer()


def test_side_rows_ask_every_table(lite: LabelledSQLiteRecorder) -> None:
    rows: SideRows[SQLiteCursor] = lite.side_rows
    assert not rows.wanted({})
    assert rows.wanted({"label": "a"}) and rows.wanted({"idempotency": key("k")})
    assert isinstance(rows.conflict(LABELS, {"label": "a"}), LabelTaken)
    assert isinstance(rows.conflict(lite.idempotency.table, {"idempotency": key("k")}),
                      IdempotencyKeyConflict)  # fmt: skip
    assert rows.conflict("stored_events", {"label": "a"}) is None
    assert rows.taken({"label": "a"}) is None

    lite.insert_events([event()], label="a")

    assert isinstance(rows.taken({"label": "a"}), LabelTaken)
    assert rows.taken({"label": "b"}) is None


def test_sqlite_writes_side_rows_with_the_events_or_not_at_all(
    lite: LabelledSQLiteRecorder,
) -> None:
    first = event()
    lite.insert_events([first], label="rush", idempotency=key("k1"))
    second = event()

    with pytest.raises(LabelTaken):
        lite.insert_events([second], label="rush", idempotency=key("k2"))

    assert len(lite.select_events(first.originator_id)) == 1
    assert lite.select_events(second.originator_id) == []
    assert lite.find_idempotency("k1") is not None and lite.find_idempotency("k2") is None


def test_a_reused_key_is_still_reported_before_the_other_side_tables(
    lite: LabelledSQLiteRecorder,
) -> None:
    lite.insert_events([event()], label="rush", idempotency=key("k"))
    with pytest.raises(IdempotencyKeyConflict):
        lite.insert_events([event()], label="rush", idempotency=key("k"))


@pytest.mark.postgres
def test_postgres_names_a_side_table_s_conflict_by_its_table(
    pg: LabelledPostgresRecorder,
) -> None:
    pg.group_commit = False  # the library's transaction, one save
    first, second = event(), event()
    pg.insert_events([first], label="rush", idempotency=key("k1"))

    with pytest.raises(LabelTaken):
        pg.insert_events([second], label="rush", idempotency=key("k2"))

    assert pg.select_events(second.originator_id) == []
    assert pg.find_idempotency("k2") is None
    assert pg.labels.stored(["rush"]) == ["rush"]


@pytest.mark.postgres
def test_postgres_writes_side_rows_in_a_group_commit_batch(
    pg: LabelledPostgresRecorder,
) -> None:
    pg.insert_events([event()], label="taken")
    saves = [([event()], {"label": "a"}), ([event()], {"label": "taken"}), ([event()], {})]

    outcomes = save_together(pg, saves)

    # The batch's insert failed on the label; written again one by one,
    # only the save with the taken label fails, with its table's error.
    assert isinstance(outcomes[1], LabelTaken)
    assert all(isinstance(outcomes[i], list) for i in (0, 2))
    assert pg.labels.stored(["a", "taken"]) == ["a", "taken"]
    assert pg.select_events(saves[1][0][0].originator_id) == []


@pytest.mark.postgres
def test_postgres_writes_a_batch_s_side_rows_in_its_transaction(
    pg: LabelledPostgresRecorder,
) -> None:
    saves = [([event()], {"label": f"l{i}"}) for i in range(4)]

    outcomes = save_together(pg, saves)

    ids = sorted(i for outcome in outcomes for i in outcome)
    assert ids == list(range(ids[0], ids[0] + 4))
    assert pg.labels.stored([f"l{i}" for i in range(4)]) == ["l0", "l1", "l2", "l3"]


def save_together(
    recorder: LedgerPostgresRecorder, saves: list[tuple[list[StoredEvent], dict[str, Any]]]
) -> list[Any]:
    """Every save queued before any is written: one group-commit batch."""
    queue = recorder.commit_queue
    with queue.lock:
        queue.leading = True
    outcomes: list[Any] = [None] * len(saves)

    def run(i: int) -> None:
        try:
            outcomes[i] = recorder.insert_events(saves[i][0], **saves[i][1])
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(saves))]
    for thread in threads:
        thread.start()
    for _ in range(2000):
        if len(queue.queue) == len(saves):
            break
        threading.Event().wait(0.005)
    with queue.lock:
        first = queue.queue.pop(0)
    first.wake()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
