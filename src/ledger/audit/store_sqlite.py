"""The audit store of the embedded SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from ledger.audit.backup_format import BATCH, TupleChain, stored_events
from ledger.audit.rows import (
    EventRow,
    LinkRow,
    Packed,
    Row,
    Seal,
    merged_orders,
    notification_tuples,
)
from ledger.audit.side_rows import SIDE_TABLES, Side, from_json, padded, read_sql_side
from ledger.persistence.chain import CHAIN_TABLE, SEALS_TABLE
from ledger.persistence.records import ORDER_NUMBERS_TABLE

PAGE = 5000


def _hex(order: str | None) -> str | None:
    return UUID(order).hex if order is not None else None


def _where(order: str | None, column: str = "originator_id") -> str:
    return f" WHERE {column} = ?" if order is not None else ""


def _args(order: str | None) -> tuple[str, ...]:
    hexed = _hex(order)
    return (hexed,) if hexed is not None else ()


class _Names:
    """Hex ids as UUID text, converted once per run of one order's rows."""

    def __init__(self) -> None:
        self.raw, self.text = "", ""

    def __call__(self, raw: str) -> str:
        if raw != self.raw:
            self.raw, self.text = raw, str(UUID(raw))
        return self.text


class SQLiteSnapshot:
    """Reads inside one read transaction (a consistent view in WAL mode)."""

    def __init__(self, conn: sqlite3.Connection, events_table: str) -> None:
        self.conn = conn
        self.events_table = events_table

    def _rows(self, sql: str, args: tuple[Any, ...]) -> Iterator[Any]:
        cursor = self.conn.cursor()
        cursor.execute(sql, args)
        while rows := cursor.fetchmany(PAGE):
            yield from rows

    def events(self, order: str | None = None) -> Iterator[EventRow]:
        sql = (
            "SELECT originator_id, originator_version, topic, state "
            f"FROM {self.events_table}{_where(order)} "
            "ORDER BY originator_id, originator_version"
        )
        names = _Names()
        for o, v, t, s in self._rows(sql, _args(order)):
            # A value edited by hand may come back as TEXT.
            yield names(o), v, t, s.encode() if isinstance(s, str) else bytes(s)

    def links(self, order: str | None = None) -> Iterator[LinkRow]:
        sql = (
            f"SELECT originator_id, version, hash FROM {CHAIN_TABLE}{_where(order)} "
            "ORDER BY originator_id, version"
        )
        names = _Names()
        for o, v, h in self._rows(sql, _args(order)):
            yield names(o), v, bytes(h)

    def orders(self, order: str | None = None) -> Iterator[tuple[str, list[Row] | Packed]]:
        return merged_orders(self.events(order), self.links(order))

    def seals(self, order: str | None = None) -> list[Seal]:
        sql = (
            f"SELECT originator_id, version, hash, sealed_at, mac, key_id FROM {SEALS_TABLE}"
            f"{_where(order)} ORDER BY originator_id, version"
        )
        return [
            Seal(str(UUID(o)), v, bytes(h), at, bytes(m), key)
            for o, v, h, at, m, key in self._rows(sql, _args(order))
        ]


class SQLiteAuditStore:
    """Chain, seals and heads of an ``LedgerSQLiteRecorder``'s database."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.datastore = recorder.datastore

    @contextmanager
    def snapshot(self) -> Iterator[SQLiteSnapshot]:
        with self.datastore.get_connection(commit=False) as conn:
            raw: sqlite3.Connection = conn._sqlite_conn
            raw.execute("BEGIN")
            try:
                yield SQLiteSnapshot(raw, self.recorder.events_table_name)
            finally:
                raw.rollback()

    def add_seals(self, seals: list[Seal]) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT OR REPLACE INTO {SEALS_TABLE} "
                "(originator_id, version, hash, sealed_at, mac, key_id) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (UUID(s.order).hex, s.version, s.hash, s.sealed_at, s.mac, s.key_id)
                    for s in seals
                ],
            )

    def heads(self) -> dict[str, tuple[int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_id, MAX(version), hash FROM {CHAIN_TABLE} "
                "GROUP BY originator_id"
            )
            return {str(UUID(o)): (v, bytes(h)) for o, v, h in c.fetchall()}


class SQLiteLoader:
    """Backup and restore of the side tables, and a restore in one transaction."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def read_side(self) -> Side:
        with self.recorder.datastore.transaction(commit=False) as c:
            side = read_sql_side(c.sqlite_cursor, lambda t: t)
        side[SEALS_TABLE] = [[str(UUID(r[0])), *r[1:]] for r in side[SEALS_TABLE]]
        return side

    @contextmanager
    def reading(self) -> Iterator[tuple[Side, Iterator[bytes]]]:
        yield self.read_side(), notification_tuples(self.recorder)

    def is_empty(self) -> bool:
        with self.recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT (SELECT COUNT(*) FROM {self.recorder.events_table_name}) "
                f"+ (SELECT COUNT(*) FROM {ORDER_NUMBERS_TABLE})"
            )
            return int(c.fetchone()[0]) == 0

    def load(self, chunks: Iterable[bytes], chain: TupleChain, side: Side) -> int:
        """Every event (the recorder writes their links) and the side rows in one
        transaction: all or nothing."""
        count = 0
        with self.recorder.datastore.transaction(commit=True) as c:
            for chunk in chunks:
                events = stored_events(chunk)
                for start in range(0, len(events), BATCH):
                    self.recorder._insert_events(c, events[start : start + BATCH])
                count += len(events)
            for table, columns in SIDE_TABLES.items():
                rows = [[from_json(v) for v in row] for row in padded(side.get(table, []), table)]
                if table == SEALS_TABLE:
                    rows = [[UUID(r[0]).hex, *r[1:]] for r in rows]
                marks = ", ".join("?" for _ in columns)
                c.executemany(
                    f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
        return count
