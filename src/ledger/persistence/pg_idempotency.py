"""Idempotency keys in PostgreSQL: the ``ledger_idempotency`` side table.

A save's row goes in with its events (after the table lock, see
``postgres``); a group-commit batch reads the keys already taken before it
locks, and inserts the keys of its accepted saves in one statement
(``pg_batch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.persistence.idempotency import key_conflict
from ledger.persistence.records import (
    IDEMPOTENCY_TABLE,
    IdempotencyRecord,
    idempotency_of,
    retried,
)

_CREATE = SQL(
    "CREATE TABLE IF NOT EXISTS {table} ("
    "key text PRIMARY KEY, "
    "fingerprint text NOT NULL, "
    "order_id text NOT NULL, "
    "version bigint NOT NULL, "
    "recorded_at timestamptz NOT NULL)"
)
_INSERT = SQL(
    "INSERT INTO {table} (key, fingerprint, order_id, version, recorded_at) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
    "%s::bigint[], %s::timestamptz[])"
)
_SELECT_KEYS = SQL("SELECT key FROM {table} WHERE key = ANY(%s::text[])")
_SELECT = SQL("SELECT key, fingerprint, order_id, version, recorded_at FROM {table} WHERE key = %s")


class PostgresIdempotency:
    """The table's statements, its rows of a save, and look-ups by key."""

    table = IDEMPOTENCY_TABLE

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        table = Identifier(datastore.schema, IDEMPOTENCY_TABLE)
        self.create_statements = [_CREATE.format(table=table)]
        self.insert_statement = _INSERT.format(table=table)
        self.select_keys_statement = _SELECT_KEYS.format(table=table)
        self.select_statement = _SELECT.format(table=table)

    def rows(self, kwargs: dict[str, Any]) -> Sequence[IdempotencyRecord]:
        """The rows of one save (``idempotency=``) or of several (``idempotency_batch=``)."""
        batch: list[IdempotencyRecord] | None = kwargs.get("idempotency_batch")
        if batch is not None:
            return batch
        record = idempotency_of(kwargs)
        return [record] if record is not None else []

    def insert(self, cursor: Cursor[DictRow], rows: Sequence[IdempotencyRecord]) -> None:
        # Not prepared: in a pipeline that aborts (a conflict) psycopg would
        # believe a statement prepared that the server never kept.
        cursor.execute(self.insert_statement, columns(rows), prepare=False)

    def conflict(self, kwargs: dict[str, Any]) -> IntegrityError:
        return key_conflict(kwargs)

    def taken(self, kwargs: dict[str, Any]) -> bool:
        return any(self.find(record.key) is not None for record in self.rows(kwargs))

    @retried
    def find(self, key: str) -> IdempotencyRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_statement, (key,))
            row = curs.fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            key=row["key"],
            fingerprint=row["fingerprint"],
            order_id=row["order_id"],
            version=row["version"],
            recorded_at=row["recorded_at"],
        )


def columns(records: Sequence[IdempotencyRecord]) -> tuple[list[Any], ...]:
    """The rows as the insert statement's arrays."""
    return (
        [r.key for r in records],
        [r.fingerprint for r in records],
        [r.order_id for r in records],
        [r.version for r in records],
        [r.recorded_at for r in records],
    )


def records_of(saves: Sequence[dict[str, Any]]) -> list[IdempotencyRecord]:
    """The keys of several saves (their ``idempotency=`` arguments)."""
    return [r for kwargs in saves if (r := idempotency_of(kwargs)) is not None]
