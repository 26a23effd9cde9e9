"""The audit store of a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.audit.backup_format import COPY_HEADER, COPY_TRAILER, TupleChain
from ledger.audit.side_rows import SIDE_TABLES, Side, from_json, read_sql_side
from ledger.audit.store import EventRow, LinkRow, Packed, Row, Seal
from ledger.persistence.chain import CHAIN_TABLE, SEALS_TABLE
from ledger.persistence.records import ORDER_NUMBERS_TABLE

PAGE = 5000

# One row per order: its events and its links, each packed into one bytea in
# version order (see ``Packed``), streamed by COPY: the driver's per-row cost
# is paid per order, not per event. A NULL topic or state reads as empty, so
# it is reported as changed rather than lost.
# One page of event tuples (see ``backup_format``) in notification order, packed
# by the server, and the last notification id it holds.
PAGE_QUERY = """
SELECT string_agg('\\x000400000010'::bytea || uuid_send(p.originator_id) || '\\x00000008'::bytea
         || int8send(p.originator_version) || int4send(octet_length(p.t)) || p.t
         || int4send(octet_length(p.s)) || p.s, ''::bytea ORDER BY p.notification_id),
       max(p.notification_id)
FROM (SELECT notification_id, originator_id, originator_version,
             convert_to(coalesce(topic, ''), 'UTF8') AS t, coalesce(state, ''::bytea) AS s
      FROM {events} WHERE notification_id > %s ORDER BY notification_id LIMIT %s) p
"""

ORDERS_QUERY = """
SELECT o.id,
  (SELECT string_agg(int4send(12 + octet_length(t) + octet_length(s)) || int8send(v)
       || int4send(octet_length(t)) || t || s, ''::bytea ORDER BY v)
   FROM (SELECT e.originator_version AS v, convert_to(coalesce(e.topic, ''), 'UTF8') AS t,
                coalesce(e.state, ''::bytea) AS s
         FROM {events} e WHERE e.originator_id = o.id) e),
  (SELECT string_agg(int8send(c.version) || int4send(octet_length(c.hash)) || c.hash,
       ''::bytea ORDER BY c.version)
   FROM {chain} c WHERE c.originator_id = o.id)
FROM (SELECT originator_id AS id FROM {events}{where}
      UNION SELECT originator_id FROM {chain}{where} ORDER BY 1) o
ORDER BY o.id
"""


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

    def orders(self, order: str | None = None) -> Iterator[tuple[str, list[Row] | Packed]]:
        where = SQL(" WHERE originator_id = {}::uuid").format(Literal(order)) if order else SQL("")
        query = SQL(ORDERS_QUERY).format(
            events=self.table(self.events_table), chain=self.table(CHAIN_TABLE), where=where
        )
        self.conn.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
        with (
            self.conn.cursor() as cur,
            cur.copy(SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)) as copy,
        ):
            copy.set_types(["uuid", "bytea", "bytea"])
            for o, events, links in copy.rows():
                yield str(o), Packed(events or b"", links or b"")

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

    @contextmanager
    def reading(self) -> Iterator[tuple[Side, Iterator[bytes]]]:
        """The side rows, then the events page by page, in one REPEATABLE READ snapshot."""
        with self.recorder.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute("SET LOCAL jit = off")
            with conn.cursor() as curs:
                side = read_sql_side(curs, self._name)
            yield side, self._pages(conn)

    def _pages(self, conn: psycopg.Connection[Any]) -> Iterator[bytes]:
        query = SQL(PAGE_QUERY).format(
            events=Identifier(*self._parts(self.recorder.events_table_name))
        )
        last = 0
        with conn.cursor(row_factory=tuple_row) as curs:
            while True:
                curs.execute(query, (last, PAGE), binary=True)
                row = curs.fetchone()
                if row is None or row[0] is None:
                    return
                yield row[0]
                last = row[1]

    def _parts(self, table: str) -> tuple[str, ...]:
        return (self.schema, table) if self.schema else (table,)

    def is_empty(self) -> bool:
        with self.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT (SELECT COUNT(*) FROM {self._name(self.recorder.events_table_name)}) "
                f"+ (SELECT COUNT(*) FROM {self._name(ORDER_NUMBERS_TABLE)}) AS n"
            )
            row = curs.fetchone()
            return row is not None and int(row["n"]) == 0

    def load(self, chunks: Iterable[bytes], chain: TupleChain, side: Side) -> int:
        """Every event, its link and the side rows in one transaction: all or nothing.

        Binary COPY rather than the recorder's INSERT: the backup's tuples go in
        as they are, the store is empty and locked (as the recorder locks it, so
        notification ids follow the file's order), and the links are the ones
        ``chain`` computed from the same bytes, as the recorder would.
        """
        events = self._name(self.recorder.events_table_name)
        columns = "(originator_id, originator_version, topic, state)"
        with (
            self.recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self.recorder._lock_table(curs)
            self.recorder._notify_channel(curs)
            with curs.copy(f"COPY {events} {columns} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(COPY_HEADER)
                for chunk in chunks:
                    copy.write(chunk)
                copy.write(COPY_TRAILER)
            assert chain.links is not None
            table = self._name(CHAIN_TABLE)
            query = f"COPY {table} (originator_id, version, hash) FROM STDIN (FORMAT BINARY)"
            with curs.copy(query) as copy:
                copy.write(COPY_HEADER)
                copy.write(chain.links)
                copy.write(COPY_TRAILER)
            self._load_side(curs, side)
        return chain.count

    def _load_side(self, curs: Any, side: Side) -> None:
        for table, columns in SIDE_TABLES.items():
            rows = [[from_json(v) for v in row] for row in side.get(table, [])]
            marks = ", ".join("%s" for _ in columns)
            if rows:
                curs.executemany(
                    f"INSERT INTO {self._name(table)} ({', '.join(columns)}) VALUES ({marks})",
                    rows,
                )
