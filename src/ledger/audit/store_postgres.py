"""The audit store of a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from ledger.audit.side_rows import SIDE_TABLES, Side, from_json, read_sql_side
from ledger.audit.store import EventRow, LinkRow, Seal
from ledger.persistence.chain import CHAIN_TABLE, SEALS_TABLE, Link, chain_links
from ledger.persistence.records import ORDER_NUMBERS_TABLE

PAGE = 5000


class PostgresSnapshot:
    """Server-side cursors inside one REPEATABLE READ transaction."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, events_table: str) -> None:
        self.conn = conn
        self.schema = schema
        self.events_table = events_table
        self._cursors = 0

    def table(self, name: str) -> Identifier:
        return Identifier(self.schema, name) if self.schema else Identifier(name)

    def _rows(self, query: Composed, order: str | None) -> Iterator[Any]:
        self._cursors += 1
        args = (UUID(order),) if order is not None else ()
        with self.conn.cursor(name=f"audit_{self._cursors}", row_factory=tuple_row) as cur:
            cur.itersize = PAGE
            cur.execute(query, args)
            yield from cur

    def _where(self, column: str, order: str | None) -> SQL:
        return SQL(f" WHERE {column} = %s") if order is not None else SQL("")

    def events(self, order: str | None = None) -> Iterator[EventRow]:
        query = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}{} "
            "ORDER BY originator_id, originator_version"
        ).format(self.table(self.events_table), self._where("originator_id", order))
        last: Any = None
        text = ""
        for o, v, t, s in self._rows(query, order):
            if o != last:
                last, text = o, str(o)
            yield text, v, t, bytes(s)

    def links(self, order: str | None = None) -> Iterator[LinkRow]:
        query = SQL(
            "SELECT originator_id, version, hash FROM {}{} ORDER BY originator_id, version"
        ).format(self.table(CHAIN_TABLE), self._where("originator_id", order))
        last: Any = None
        text = ""
        for o, v, h in self._rows(query, order):
            if o != last:
                last, text = o, str(o)
            yield text, v, bytes(h)

    def seals(self, order: str | None = None) -> list[Seal]:
        query = SQL(
            "SELECT originator_id, version, hash, sealed_at, mac FROM {}{} "
            "ORDER BY originator_id, version"
        ).format(self.table(SEALS_TABLE), self._where("originator_id", order))
        return [
            Seal(str(o), v, bytes(h), at, bytes(m)) for o, v, h, at, m in self._rows(query, order)
        ]


class PostgresAuditStore:
    """Chain, seals and heads of a ``LedgerPostgresRecorder``'s schema."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.datastore = recorder.datastore

    def _table(self, name: str) -> Identifier:
        schema = self.datastore.schema
        return Identifier(schema, name) if schema else Identifier(name)

    @contextmanager
    def snapshot(self) -> Iterator[PostgresSnapshot]:
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresSnapshot(conn, self.datastore.schema, self.recorder.events_table_name)

    def add_seals(self, seals: list[Seal]) -> None:
        query = SQL(
            "INSERT INTO {} (originator_id, version, hash, sealed_at, mac) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[], %s::text[], %s::bytea[]) "
            "ON CONFLICT (originator_id, version) DO UPDATE SET hash = excluded.hash, "
            "sealed_at = excluded.sealed_at, mac = excluded.mac"
        ).format(self._table(SEALS_TABLE))
        columns = list(
            zip(*[(s.order, s.version, s.hash, s.sealed_at, s.mac) for s in seals], strict=True)
        )
        if columns:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(query, [list(c) for c in columns])

    def heads(self) -> dict[str, tuple[int, bytes]]:
        query = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, version, hash FROM {} "
            "ORDER BY originator_id, version DESC"
        ).format(self._table(CHAIN_TABLE))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(query)
            return {
                str(r["originator_id"]): (r["version"], bytes(r["hash"])) for r in curs.fetchall()
            }


class PostgresLoader:
    """Backup and restore of the side tables, and a restore in one transaction."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.schema = recorder.datastore.schema

    def _name(self, table: str) -> str:
        return Identifier(self.schema, table).as_string(None) if self.schema else table

    def read_side(self) -> Side:
        with self.recorder.datastore.transaction(commit=False) as curs:
            return read_sql_side(curs, self._name)

    def is_empty(self) -> bool:
        with self.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT (SELECT COUNT(*) FROM {self._name(self.recorder.events_table_name)}) "
                f"+ (SELECT COUNT(*) FROM {self._name(ORDER_NUMBERS_TABLE)}) AS n"
            )
            row = curs.fetchone()
            return row is not None and int(row["n"]) == 0

    def load(self, batches: Iterable[list[StoredEvent]], side: Side) -> int:
        """Every event, its link and the side rows in one transaction: all or nothing.

        COPY rather than the recorder's INSERT: the store is empty and locked,
        and the links are computed here from the same bytes, as the recorder would.
        """
        heads: dict[str, bytes] = {}
        links: list[Link] = []
        events = self._name(self.recorder.events_table_name)
        columns = "(originator_id, originator_version, topic, state)"
        with (
            self.recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self.recorder._lock_table(curs)
            self.recorder._notify_channel(curs)
            with curs.copy(f"COPY {events} {columns} FROM STDIN") as copy:
                for batch in batches:
                    for e in batch:
                        copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
                    batch_links = chain_links(batch, heads)
                    heads.update((o, h) for o, _, h in batch_links)
                    links.extend(batch_links)
            table = self._name(CHAIN_TABLE)
            with curs.copy(f"COPY {table} (originator_id, version, hash) FROM STDIN") as copy:
                for row in links:
                    copy.write_row(row)
            self._load_side(curs, side)
        return len(links)

    def _load_side(self, curs: Any, side: Side) -> None:
        for table, columns in SIDE_TABLES.items():
            rows = [[from_json(v) for v in row] for row in side.get(table, [])]
            marks = ", ".join("%s" for _ in columns)
            if rows:
                curs.executemany(
                    f"INSERT INTO {self._name(table)} ({', '.join(columns)}) VALUES ({marks})",
                    rows,
                )
