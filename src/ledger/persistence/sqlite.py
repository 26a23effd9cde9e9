"""SQLite recorder and factory (``sqlite:///path.db``), the embedded default."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment, EnvType

from ledger.files import create_private
from ledger.persistence import chain
from ledger.persistence.records import (
    IDEMPOTENCY_TABLE,
    ORDER_NUMBERS_TABLE,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    idempotency_of,
)

_CREATE_IDEMPOTENCY = (
    f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
    "key TEXT PRIMARY KEY, "
    "fingerprint TEXT NOT NULL, "
    "order_id TEXT NOT NULL, "
    "version INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL)"
)
_CREATE_ORDER_NUMBERS = (
    f"CREATE TABLE IF NOT EXISTS {ORDER_NUMBERS_TABLE} ("
    "year INTEGER PRIMARY KEY, "
    "last INTEGER NOT NULL)"
)
_INSERT_IDEMPOTENCY = (
    f"INSERT INTO {IDEMPOTENCY_TABLE} "
    "(key, fingerprint, order_id, version, recorded_at) VALUES (?, ?, ?, ?, ?)"
)
_SELECT_IDEMPOTENCY = (
    f"SELECT key, fingerprint, order_id, version, recorded_at "
    f"FROM {IDEMPOTENCY_TABLE} WHERE key = ?"
)
_NEXT_ORDER_NUMBER = (
    f"INSERT INTO {ORDER_NUMBERS_TABLE} (year, last) VALUES (?, ?) "
    "ON CONFLICT (year) DO UPDATE SET last = last + excluded.last "
    "RETURNING last"
)


class LedgerSQLiteRecorder(es_sqlite.SQLiteApplicationRecorder):
    """The library's SQLite recorder plus idempotency keys and order numbers.

    Side rows are inserted first, inside the library's insert transaction,
    so a reused key is reported as ``IdempotencyKeyConflict`` even when the
    events would also conflict, and any failure rolls everything back.
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.extend([_CREATE_IDEMPOTENCY, _CREATE_ORDER_NUMBERS, *_CREATE_AUDIT])
        return statements

    def _create_table(self, c: es_sqlite.SQLiteCursor) -> None:
        super()._create_table(c)
        _add_seal_key_id(c.sqlite_cursor)

    def _insert_events(
        self,
        c: es_sqlite.SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        self._insert_side_rows(c, **kwargs)
        ids = super()._insert_events(c, stored_events, **kwargs)
        if self.chain_enabled:
            _insert_chain_rows(c, stored_events)
        return ids

    def _insert_side_rows(self, c: es_sqlite.SQLiteCursor, **kwargs: Any) -> None:
        """Rows written with the events; extend for more side tables."""
        record = idempotency_of(kwargs)
        if record is None:
            return
        try:
            c.execute(
                _INSERT_IDEMPOTENCY,
                (
                    record.key,
                    record.fingerprint,
                    record.order_id,
                    record.version,
                    record.recorded_at.isoformat(),
                ),
            )
        except sqlite3.IntegrityError as e:
            # Raised inside the transaction, so the library rolls it back.
            raise IdempotencyKeyConflict(record.key) from e

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_SELECT_IDEMPOTENCY, (key,))
            row = c.fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            key=row["key"],
            fingerprint=row["fingerprint"],
            order_id=row["order_id"],
            version=row["version"],
            recorded_at=datetime.fromisoformat(row["recorded_at"]),
        )

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        # A write transaction: SQLite's single writer lock serialises
        # allocations across threads and processes.
        with self.datastore.transaction(commit=True) as c:
            c.execute(_NEXT_ORDER_NUMBER, (year, count))
            # Fetch every row so the statement is finished before COMMIT.
            (row,) = c.fetchall()
        return int(row["last"])


_CREATE_AUDIT = [
    f"CREATE TABLE IF NOT EXISTS {chain.CHAIN_TABLE} ("
    "originator_id TEXT NOT NULL, version INTEGER NOT NULL, hash BLOB NOT NULL, "
    "PRIMARY KEY (originator_id, version)) WITHOUT ROWID",
    f"CREATE TABLE IF NOT EXISTS {chain.SEALS_TABLE} ("
    "originator_id TEXT NOT NULL, version INTEGER NOT NULL, hash BLOB NOT NULL, "
    "sealed_at TEXT NOT NULL, mac BLOB NOT NULL, key_id TEXT, "
    "PRIMARY KEY (originator_id, version))",
    f"CREATE TABLE IF NOT EXISTS {chain.CUSTOMER_KEYS_TABLE} ("
    "customer TEXT PRIMARY KEY, key BLOB, created_at TEXT NOT NULL, erased_at TEXT)",
]


def _add_seal_key_id(c: sqlite3.Cursor) -> None:
    """Stores created before seals recorded their key's id get the column (empty)."""
    c.execute(f"PRAGMA table_info({chain.SEALS_TABLE})")
    if any(row[1] == "key_id" for row in c.fetchall()):
        return
    try:
        c.execute(f"ALTER TABLE {chain.SEALS_TABLE} ADD COLUMN key_id TEXT")
    except sqlite3.OperationalError as e:  # another process added it first
        if "duplicate column" not in str(e):
            raise


def _insert_chain_rows(c: es_sqlite.SQLiteCursor, stored_events: Sequence[StoredEvent]) -> None:
    """The batch's chain links, prev hashes read in one query in this transaction.

    Ids are stored as the events table stores them (hex), so the two join.
    """
    wanted = [(UUID(o).hex, v) for o, v in chain.previous_wanted(stored_events)]
    previous: dict[str, bytes] = {}
    if wanted:
        marks = ", ".join("(?, ?)" for _ in wanted)
        c.execute(
            f"SELECT originator_id, hash FROM {chain.CHAIN_TABLE} "
            f"WHERE (originator_id, version) IN (VALUES {marks})",
            [value for pair in wanted for value in pair],
        )
        previous = chain.previous_map(c.fetchall())
    links = chain.chain_links(stored_events, previous)
    c.executemany(
        f"INSERT INTO {chain.CHAIN_TABLE} (originator_id, version, hash) VALUES (?, ?, ?)",
        [(UUID(o).hex, v, h) for o, v, h in links],
    )


class LedgerSQLiteFactory(es_sqlite.SQLiteFactory):
    """Builds ``LedgerSQLiteRecorder`` as the application recorder, on a
    database file created ``0600`` (in folders created ``0700``) before SQLite
    opens it: SQLite gives its WAL and shared-memory files the database
    file's mode."""

    application_recorder_class = LedgerSQLiteRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        name = (env or {}).get(self.SQLITE_DBNAME) or ""
        if name and not name.startswith((":memory:", "file:")):
            create_private(Path(name))
        super().__init__(env)
