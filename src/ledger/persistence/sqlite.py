"""SQLite recorder and factory (``sqlite:///path.db``), the embedded default."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment, EnvType

from ledger.files import create_private
from ledger.persistence import chain
from ledger.persistence.chain_rows import SQLiteChain
from ledger.persistence.idempotency import SQLiteIdempotency
from ledger.persistence.numbering import SQLiteOrderNumbers
from ledger.persistence.records import IdempotencyRecord
from ledger.persistence.side_rows import SideRows


class LedgerSQLiteRecorder(es_sqlite.SQLiteApplicationRecorder):
    """The library's SQLite recorder plus idempotency keys, order numbers and
    the hash chain, composed of one part each.

    Side rows are inserted first, inside the library's insert transaction,
    so a reused key is reported as ``IdempotencyKeyConflict`` even when the
    events would also conflict, and any failure rolls everything back; the
    chain's links follow the events.
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True
    # One writer at a time: a bulk writer's second thread only prepares the
    # next save while the first writes.
    concurrent_saves = 2

    def __init__(
        self, datastore: es_sqlite.SQLiteDatastore, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name)
        self.idempotency = SQLiteIdempotency(datastore)
        self.order_numbers = SQLiteOrderNumbers(datastore)
        self.hash_chain = SQLiteChain()
        self.side_rows = SideRows[es_sqlite.SQLiteCursor](self.idempotency)

    def construct_create_table_statements(self) -> list[str]:
        # Called by the library's constructor: the parts' tables as declared
        # on their classes.
        return [
            *super().construct_create_table_statements(),
            *SQLiteIdempotency.create_statements,
            *SQLiteOrderNumbers.create_statements,
            *SQLiteChain.create_statements,
            *_CREATE_AUDIT,
        ]

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
            self.hash_chain.write(c, stored_events)
        return ids

    def _insert_side_rows(self, c: es_sqlite.SQLiteCursor, **kwargs: Any) -> None:
        """Rows written with the events (see ``side_rows``)."""
        self.side_rows.insert(c, kwargs)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self.idempotency.find(key)

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        return self.order_numbers.allocate(year, count)


# Tables of the audit tools, created with the store (the recorder writes none).
_CREATE_AUDIT = [
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
