"""Idempotency keys in memory and in SQLite (PostgreSQL: ``pg_idempotency``).

A save brings its key as ``idempotency=IdempotencyRecord(...)``; the row is
written in the save's transaction, and a key stored before fails the save
with ``IdempotencyKeyConflict`` (nothing of it is written).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from ledger.persistence.records import (
    IDEMPOTENCY_TABLE,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    idempotency_of,
)


def key_conflict(kwargs: dict[str, Any]) -> IntegrityError:
    """The conflict a save's reused key means."""
    record = idempotency_of(kwargs)
    return IdempotencyKeyConflict(record.key if record else "?")


class MemoryIdempotency:
    """Records by key, under the in-memory store's lock."""

    table = IDEMPOTENCY_TABLE

    def __init__(self, lock: threading.RLock) -> None:
        self.records: dict[str, IdempotencyRecord] = {}
        self._lock = lock

    def check(self, kwargs: dict[str, Any]) -> None:
        """Raise before anything of the save is written if its key is taken."""
        record = idempotency_of(kwargs)
        with self._lock:
            if record is not None and record.key in self.records:
                raise IdempotencyKeyConflict(record.key)

    def write(self, kwargs: dict[str, Any]) -> None:
        """Keep what ``check`` accepted; cannot fail."""
        record = idempotency_of(kwargs)
        if record is not None:
            with self._lock:
                self.records[record.key] = record

    def find(self, key: str) -> IdempotencyRecord | None:
        with self._lock:
            return self.records.get(key)


class SQLiteIdempotency:
    """The ``ledger_idempotency`` table in SQLite (a side table of the save)."""

    table = IDEMPOTENCY_TABLE
    create_statements = (
        f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
        "key TEXT PRIMARY KEY, "
        "fingerprint TEXT NOT NULL, "
        "order_id TEXT NOT NULL, "
        "version INTEGER NOT NULL, "
        "recorded_at TEXT NOT NULL)",
    )
    insert_statement = (
        f"INSERT INTO {IDEMPOTENCY_TABLE} "
        "(key, fingerprint, order_id, version, recorded_at) VALUES (?, ?, ?, ?, ?)"
    )
    select_statement = (
        f"SELECT key, fingerprint, order_id, version, recorded_at "
        f"FROM {IDEMPOTENCY_TABLE} WHERE key = ?"
    )

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def rows(self, kwargs: dict[str, Any]) -> Sequence[IdempotencyRecord]:
        record = idempotency_of(kwargs)
        return [record] if record is not None else []

    def insert(self, cursor: SQLiteCursor, rows: Sequence[IdempotencyRecord]) -> None:
        for record in rows:
            try:
                cursor.execute(self.insert_statement, _row(record))
            except sqlite3.IntegrityError as e:
                # Raised inside the transaction, so the library rolls it back.
                raise IdempotencyKeyConflict(record.key) from e

    def conflict(self, kwargs: dict[str, Any]) -> IntegrityError:
        return key_conflict(kwargs)

    def taken(self, kwargs: dict[str, Any]) -> bool:
        return any(self.find(record.key) is not None for record in self.rows(kwargs))

    def find(self, key: str) -> IdempotencyRecord | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.select_statement, (key,))
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


def _row(record: IdempotencyRecord) -> tuple[Any, ...]:
    return (
        record.key,
        record.fingerprint,
        record.order_id,
        record.version,
        record.recorded_at.isoformat(),
    )
