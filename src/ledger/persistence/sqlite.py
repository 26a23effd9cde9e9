"""SQLite recorder and factory (``sqlite:///path.db``), the embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import StoredEvent

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
    "sealed_at TEXT NOT NULL, mac BLOB NOT NULL, PRIMARY KEY (originator_id, version))",
    f"CREATE TABLE IF NOT EXISTS {chain.CUSTOMER_KEYS_TABLE} ("
    "customer TEXT PRIMARY KEY, key BLOB, created_at TEXT NOT NULL, erased_at TEXT)",
]


class LedgerSQLiteFactory(es_sqlite.SQLiteFactory):
    """Builds ``LedgerSQLiteRecorder`` as the application recorder."""

    application_recorder_class = LedgerSQLiteRecorder
