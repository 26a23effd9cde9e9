"""The rows a backup carries beside the events: order-number counters,
idempotency keys, customer keys and seals, as JSON-ready lists per table."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.persistence.chain import CUSTOMER_KEYS_TABLE, SEALS_TABLE
from ledger.persistence.records import IDEMPOTENCY_TABLE, ORDER_NUMBERS_TABLE, IdempotencyRecord

SIDE_TABLES: dict[str, tuple[str, ...]] = {
    ORDER_NUMBERS_TABLE: ("year", "last"),
    IDEMPOTENCY_TABLE: ("key", "fingerprint", "order_id", "version", "recorded_at"),
    CUSTOMER_KEYS_TABLE: ("customer", "key", "created_at", "erased_at"),
    SEALS_TABLE: ("originator_id", "version", "hash", "sealed_at", "mac", "key_id"),
}
Side = dict[str, list[list[Any]]]


def to_json(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def padded(rows: list[list[Any]], table: str) -> list[list[Any]]:
    """Rows of an older backup, whose tables had fewer columns, with ``None`` for the new ones."""
    width = len(SIDE_TABLES[table])
    return [[*row, *[None] * (width - len(row))] for row in rows]


def from_json(value: Any) -> Any:
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    return value


def read_sql_side(cursor: Any, table_name: Any) -> Side:
    """Every side table through a DB-API cursor; ``table_name(t)`` quotes a table."""
    side: Side = {}
    for table, columns in SIDE_TABLES.items():
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table_name(table)}")
        side[table] = [
            [to_json(_cell(row, i, c)) for i, c in enumerate(columns)] for row in cursor.fetchall()
        ]
    return side


def _cell(row: Any, index: int, column: str) -> Any:
    return row[column] if isinstance(row, dict) else row[index]


def read_memory_side(recorder: Any) -> Side:
    with recorder._database_lock:
        return {
            ORDER_NUMBERS_TABLE: [[y, n] for y, n in recorder._order_numbers.items()],
            IDEMPOTENCY_TABLE: [
                [r.key, r.fingerprint, r.order_id, r.version, r.recorded_at.isoformat()]
                for r in recorder._idempotency.values()
            ],
            CUSTOMER_KEYS_TABLE: [
                [c, to_json(k), at, erased] for c, (k, at, erased) in recorder.customer_keys.items()
            ],
            SEALS_TABLE: [
                [o, v, to_json(h), at, to_json(m), key]
                for (o, v), (h, at, m, key) in recorder.seals.items()
            ],
        }


def write_memory_side(recorder: Any, side: Side) -> None:
    with recorder._database_lock:
        for year, last in side[ORDER_NUMBERS_TABLE]:
            recorder._order_numbers[int(year)] = int(last)
        for key, fingerprint, order_id, version, at in side[IDEMPOTENCY_TABLE]:
            recorder._idempotency[key] = IdempotencyRecord(
                key, fingerprint, order_id, version, datetime.fromisoformat(at)
            )
        for customer, key, at, erased in side[CUSTOMER_KEYS_TABLE]:
            recorder.customer_keys[customer] = (from_json(key), at, erased)
        for order, version, digest, at, mac, key in padded(side[SEALS_TABLE], SEALS_TABLE):
            recorder.seals[(order, version)] = (from_json(digest), at, from_json(mac), key)
