"""The audit store of a PostgreSQL database."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.audit.backup_format import COPY_HEADER, COPY_TRAILER, TupleChain
from ledger.audit.rows import EventRow, LinkRow, Packed, Row, Seal
from ledger.audit.side_rows import SIDE_TABLES, Side, from_json, padded, read_sql_side
from ledger.persistence.chain import CHAIN_TABLE, SEALS_TABLE
from ledger.persistence.records import ORDER_NUMBERS_TABLE

PAGE = 5000

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

# Every event beside its link, streamed by binary COPY: the rows come as
# ``Packed`` tuples, hashed where they lie. A NULL topic or state reads as
# empty, so it is reported as changed rather than lost.
EVENTS_QUERY = """
SELECT e.originator_id, e.originator_version, coalesce(e.topic, ''),
       coalesce(e.state, ''::bytea), c.hash
FROM {events} e LEFT JOIN {chain} c
  ON c.originator_id = e.originator_id AND c.version = e.originator_version{where}
ORDER BY e.originator_id, e.originator_version
"""
# How many links each order has: an order whose events brought fewer has links
# without events, fetched apart (usually none).
LINK_COUNTS_QUERY = """
SELECT c.originator_id, count(*) FROM {chain} c{where} GROUP BY c.originator_id
"""
ORPHAN_LINKS_QUERY = """
SELECT c.originator_id, c.version, c.hash FROM {chain} c
WHERE c.originator_id = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM {events} e
                  WHERE e.originator_id = c.originator_id AND e.originator_version = c.version)
ORDER BY c.originator_id, c.version
"""
_NO_LINK = struct.pack(">i", -1)  # how a tuple whose link is NULL ends
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


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
        """Orders in id order, except those with links but fewer events (a
        tampered store), which come last, once their lone links are read."""
        names = {"events": self.table(self.events_table), "chain": self.table(CHAIN_TABLE)}
        where = SQL(" WHERE c.originator_id = {}::uuid").format(Literal(order)) if order else None
        query = SQL(LINK_COUNTS_QUERY).format(**names, where=where or SQL(""))
        counts = {str(o): n for o, n in self._rows(query, None)}
        held: dict[str, list[bytes]] = {}  # orders missing links, kept until the end
        where = SQL(" WHERE e.originator_id = {}::uuid").format(Literal(order)) if order else None
        query = SQL(EVENTS_QUERY).format(**names, where=where or SQL(""))
        self.conn.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
        for text, tuples in self._order_tuples(query):
            expected = counts.pop(text, 0)
            if expected and expected != sum(1 for t in tuples if t[-4:] != _NO_LINK):
                held[text] = tuples
            else:
                yield text, Packed(tuples, [])
        held.update((text, []) for text in counts)  # links and no events at all
        if not held:
            return
        lone: dict[str, list[tuple[int, bytes]]] = {}
        query = SQL(ORPHAN_LINKS_QUERY).format(**names)
        with self.conn.cursor(row_factory=tuple_row) as cur:
            for o, v, h in cur.execute(query, ([UUID(text) for text in held],)):
                lone.setdefault(str(o), []).append((v, bytes(h)))
        for text in sorted(held):
            yield text, Packed(held[text], lone.get(text, []))

    def _order_tuples(self, query: Composed) -> Iterator[tuple[str, list[bytes]]]:
        """The binary COPY tuples of ``query``, grouped by order (the first column)."""
        current, text, tuples = b"", "", list[bytes]()
        with (
            self.conn.cursor() as cur,
            cur.copy(SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)) as copy,
        ):
            for block in copy:
                data = bytes(block)
                if data.startswith(_COPY_SIGNATURE):  # the first row comes after the header
                    (extension,) = struct.unpack_from(">i", data, 15)
                    data = data[19 + extension :]
                if len(data) <= 2:  # the trailer
                    continue
                oid = data[6:22]
                if oid != current:
                    if tuples:
                        yield text, tuples
                    current, text, tuples = oid, str(UUID(bytes=oid)), []
                tuples.append(data)
        if tuples:
            yield text, tuples

    def seals(self, order: str | None = None) -> list[Seal]:
        query = SQL(
            "SELECT originator_id, version, hash, sealed_at, mac, key_id FROM {}{} "
            "ORDER BY originator_id, version"
        ).format(self.table(SEALS_TABLE), self._where("originator_id", order))
        return [
            Seal(str(o), v, bytes(h), at, bytes(m), key)
            for o, v, h, at, m, key in self._rows(query, order)
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
            "INSERT INTO {} (originator_id, version, hash, sealed_at, mac, key_id) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[], %s::text[], %s::bytea[], "
            "%s::text[]) ON CONFLICT (originator_id, version) DO UPDATE SET hash = excluded.hash, "
            "sealed_at = excluded.sealed_at, mac = excluded.mac, key_id = excluded.key_id"
        ).format(self._table(SEALS_TABLE))
        columns = list(
            zip(
                *[(s.order, s.version, s.hash, s.sealed_at, s.mac, s.key_id) for s in seals],
                strict=True,
            )
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
            rows = [[from_json(v) for v in row] for row in padded(side.get(table, []), table)]
            marks = ", ".join("%s" for _ in columns)
            if rows:
                curs.executemany(
                    f"INSERT INTO {self._name(table)} ({', '.join(columns)}) VALUES ({marks})",
                    rows,
                )
