"""The ``ledger_customer_keys`` table on PostgreSQL (see ``key_tables``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Identifier

from ledger.persistence.chain import CUSTOMER_KEYS_TABLE as TABLE
from ledger.persistence.key_tables import now_text
from ledger.persistence.records import ERASED_FINGERPRINT, IDEMPOTENCY_TABLE


class PostgresKeys:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        schema = datastore.schema
        self.table = Identifier(schema, TABLE) if schema else Identifier(TABLE)
        self.commands = (
            Identifier(schema, IDEMPOTENCY_TABLE) if schema else Identifier(IDEMPOTENCY_TABLE)
        )

    def _sql(self, text: str) -> Any:
        return SQL(text).format(table=self.table, commands=self.commands)

    def get(self, customer: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql("SELECT key FROM {table} WHERE customer = %s"), (customer,))
            row = curs.fetchone()
        return bytes(row["key"]) if row and row["key"] is not None else None

    def get_many(self, customers: Sequence[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = dict.fromkeys(customers)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._sql("SELECT customer, key FROM {table} WHERE customer = ANY(%s)"),
                (list(customers),),
            )
            for row in curs.fetchall():
                found[row["customer"]] = bytes(row["key"]) if row["key"] is not None else None
        return found

    def create(self, customer: str, key: bytes) -> bytes:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql(
                    "INSERT INTO {table} AS k (customer, key, created_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (customer) DO UPDATE SET key = excluded.key, erased_at = NULL "
                    "WHERE k.key IS NULL"
                ),
                (customer, key, now_text()),
            )
            curs.execute(self._sql("SELECT key FROM {table} WHERE customer = %s"), (customer,))
            row = curs.fetchone()
        assert row is not None
        return bytes(row["key"])

    def destroy(self, customer: str, orders: Sequence[str] = ()) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql("UPDATE {table} SET key = NULL, erased_at = %s WHERE customer = %s"),
                (now_text(), customer),
            )
            curs.execute(
                self._sql("UPDATE {commands} SET fingerprint = %s WHERE order_id = ANY(%s)"),
                (ERASED_FINGERPRINT, list(orders)),
            )
        with self.datastore.get_connection() as conn:
            conn.execute(self._sql("VACUUM FULL {table}"))
