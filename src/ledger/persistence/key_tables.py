"""The ``ledger_customer_keys`` table of each backend: get, create, destroy.

Destroying overwrites the key and leaves no old copy behind that the store
itself keeps: SQLite deletes securely and truncates its write-ahead log,
PostgreSQL rewrites the (small) table with ``VACUUM FULL``. In the same
transaction the idempotency fingerprints of the commands on the customer's
orders (digests of their arguments, personal data included) are replaced by
``ERASED_FINGERPRINT``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from ledger.persistence.chain import CUSTOMER_KEYS_TABLE as TABLE
from ledger.persistence.records import ERASED_FINGERPRINT, IDEMPOTENCY_TABLE


class KeyTable(Protocol):
    def get(self, customer: str) -> bytes | None: ...

    def get_many(self, customers: Sequence[str]) -> dict[str, bytes | None]:
        """Several customers' keys in one read (``None``: erased or never made)."""
        ...

    def create(self, customer: str, key: bytes) -> bytes: ...

    def destroy(self, customer: str, orders: Sequence[str] = ()) -> None: ...


def now_text() -> str:
    return datetime.now(UTC).isoformat()


def key_table_for(app: Any) -> KeyTable:
    kind = type(getattr(app.factory, "datastore", None)).__name__
    if kind == "SQLiteDatastore":
        return SQLiteKeys(app.recorder.datastore)
    if kind == "PostgresDatastore":
        # Imported here so that an embedded or in-memory store never loads psycopg.
        from ledger.persistence.pg_key_tables import PostgresKeys

        return PostgresKeys(app.recorder.datastore)
    return MemoryKeys(app.recorder)


class MemoryKeys:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def get(self, customer: str) -> bytes | None:
        with self.recorder._database_lock:
            row = self.recorder.customer_keys.get(customer)
            return row[0] if row else None

    def get_many(self, customers: Sequence[str]) -> dict[str, bytes | None]:
        return {customer: self.get(customer) for customer in customers}

    def create(self, customer: str, key: bytes) -> bytes:
        with self.recorder._database_lock:
            row = self.recorder.customer_keys.get(customer)
            if row is None or row[0] is None:
                self.recorder.customer_keys[customer] = (key, now_text(), None)
            stored: bytes = self.recorder.customer_keys[customer][0]
            return stored

    def destroy(self, customer: str, orders: Sequence[str] = ()) -> None:
        with self.recorder._database_lock:
            row = self.recorder.customer_keys.get(customer)
            self.recorder.customer_keys[customer] = (
                None,
                row[1] if row else now_text(),
                now_text(),
            )
            records = self.recorder._idempotency
            for key, record in records.items():
                if record.order_id in orders:
                    records[key] = replace(record, fingerprint=ERASED_FINGERPRINT)


class SQLiteKeys:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore

    def get(self, customer: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT key FROM {TABLE} WHERE customer = ?", (customer,))
            row = c.fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def get_many(self, customers: Sequence[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = dict.fromkeys(customers)
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT customer, key FROM {TABLE} WHERE customer IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(list(customers)),),
            )
            for customer, key in c.fetchall():
                found[customer] = bytes(key) if key is not None else None
        return found

    def create(self, customer: str, key: bytes) -> bytes:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {TABLE} (customer, key, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (customer) DO UPDATE SET key = excluded.key, erased_at = NULL "
                "WHERE key IS NULL",
                (customer, key, now_text()),
            )
            c.execute(f"SELECT key FROM {TABLE} WHERE customer = ?", (customer,))
            return bytes(c.fetchone()[0])

    def destroy(self, customer: str, orders: Sequence[str] = ()) -> None:
        with self.datastore.get_connection(commit=True) as conn:
            raw = conn._sqlite_conn
            raw.execute("PRAGMA secure_delete = ON")
            raw.execute("BEGIN")
            raw.execute(
                f"UPDATE {TABLE} SET key = NULL, erased_at = ? WHERE customer = ?",
                (now_text(), customer),
            )
            raw.execute(
                f"UPDATE {IDEMPOTENCY_TABLE} SET fingerprint = ? "
                "WHERE order_id IN (SELECT value FROM json_each(?))",
                (ERASED_FINGERPRINT, json.dumps(list(orders))),
            )
            raw.commit()
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
