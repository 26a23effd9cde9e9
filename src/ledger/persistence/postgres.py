"""PostgreSQL recorder and factory (``postgresql://...``), for production."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.utils import retry
from psycopg import Connection, Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence import chain, pg_stream
from ledger.persistence.records import (
    CONFLICTS_BY_TABLE,
    IDEMPOTENCY_TABLE,
    ORDER_NUMBERS_TABLE,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    idempotency_of,
)

log = logging.getLogger(__name__)

_TRANSIENT = (InterfaceError, OperationalError)


class LedgerPostgresRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's PostgreSQL recorder plus idempotency keys and order numbers.

    Side rows are written in the library's insert transaction, after its
    table lock and NOTIFY and before the events (see
    ``_insert_stored_events``). A uniqueness violation on a side table is turned
    into its own ``IntegrityError`` subclass (see ``CONFLICTS_BY_TABLE``).
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True
    # Group commit: concurrent saves of this process share one transaction
    # (see ``insert_events``). Off, every save is a transaction of its own.
    group_commit = True
    # At most this many saves in one transaction (bounds its size and time).
    max_batch = 64
    # Batches of one process in flight at once: while one commits (holding
    # the table lock), the next reads what it must check. 1: one at a time.
    batches_in_flight = 2

    def __init__(
        self,
        datastore: es_postgres.PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # Links this process committed: a command on an order just written
        # needs no query for its previous hash (committed links never change).
        self.recent_links = chain.RecentLinks()
        # Group commit: saves waiting to be written, and whether a thread is
        # writing a batch now (then the others queue behind it).
        self._batch_lock = threading.Lock()
        self._batch_queue: list[_PendingSave] = []
        self._batch_leading = False
        self._idle_writers: list[Connection[DictRow]] = []
        self._writer_slots = threading.BoundedSemaphore(self.batches_in_flight)
        self.sql_create_statements.extend(
            [
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {table} ("
                    "key text PRIMARY KEY, "
                    "fingerprint text NOT NULL, "
                    "order_id text NOT NULL, "
                    "version bigint NOT NULL, "
                    "recorded_at timestamptz NOT NULL)",
                    IDEMPOTENCY_TABLE,
                ),
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {table} ("
                    "year int PRIMARY KEY, "
                    "last bigint NOT NULL)",
                    ORDER_NUMBERS_TABLE,
                ),
                *[self._sql(t, n) for t, n in _CREATE_AUDIT],
            ]
        )
        self.select_previous_links_statement = self._sql(
            "SELECT c.originator_id, c.hash FROM {table} c "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(o, v) "
            "ON c.originator_id = w.o AND c.version = w.v",
            chain.CHAIN_TABLE,
        )
        self.select_stored_versions_statement = SQL(
            "SELECT e.originator_id, e.originator_version FROM {schema}.{table} e "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(o, v) "
            "ON e.originator_id = w.o AND e.originator_version = w.v"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        self.insert_events_columns_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
        )
        # The events and their chain links in one statement (a group commit's
        # insert): a statement of its own for the links cost a single caller's
        # command about 8% more time than writing without the chain, nearly
        # all of it the statement's own round of parse, plan and execute.
        # A conflict on the events fails this statement, links and all.
        self.insert_events_and_links_statement = SQL(
            "WITH e AS MATERIALIZED (SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], "
            "%s::text[], %s::bytea[], %s::bytea[]) WITH ORDINALITY AS w(o, v, t, s, h, n)), "
            "l AS (INSERT INTO {chain} (originator_id, version, hash) "
            "SELECT o, v, h FROM e ON CONFLICT DO NOTHING) "
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT o, v, t, s FROM e ORDER BY n RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
            chain=Identifier(self.datastore.schema, chain.CHAIN_TABLE),
        )
        self.select_idempotency_keys_statement = self._sql(
            "SELECT key FROM {table} WHERE key = ANY(%s::text[])", IDEMPOTENCY_TABLE
        )
        self.insert_links_statement = self._sql(
            "INSERT INTO {table} (originator_id, version, hash) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bytea[]) "
            # Never the statement that fails: a version conflict must fail the
            # events INSERT itself (which then rolls these rows back too).
            "ON CONFLICT DO NOTHING",
            chain.CHAIN_TABLE,
        )
        self.insert_idempotency_statement = self._sql(
            "INSERT INTO {table} (key, fingerprint, order_id, version, recorded_at) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::bigint[], %s::timestamptz[])",
            IDEMPOTENCY_TABLE,
        )
        self.select_idempotency_statement = self._sql(
            "SELECT key, fingerprint, order_id, version, recorded_at FROM {table} WHERE key = %s",
            IDEMPOTENCY_TABLE,
        )
        # The row lock taken by ON CONFLICT ... DO UPDATE serialises
        # concurrent allocations for one year, across all processes.
        self.next_order_number_statement = self._sql(
            "INSERT INTO {table} AS n (year, last) VALUES (%s, %s) "
            "ON CONFLICT (year) DO UPDATE SET last = n.last + excluded.last "
            "RETURNING last",
            ORDER_NUMBERS_TABLE,
        )
        # The group-commit statements rendered once: psycopg would otherwise
        # compose each one again on every execute.
        self._batch_sql = _BatchSQL(
            lock=[_as_bytes(q) for q in self.lock_table_statements],
            notify=SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_bytes(None),
            select_versions=self.select_stored_versions_statement.as_bytes(None),
            select_keys=self.select_idempotency_keys_statement.as_bytes(None),
            select_links=self.select_previous_links_statement.as_bytes(None),
            insert_keys=self.insert_idempotency_statement.as_bytes(None),
            insert_links=self.insert_links_statement.as_bytes(None),
            insert_events=self.insert_events_columns_statement.as_bytes(None),
            insert_events_and_links=self.insert_events_and_links_statement.as_bytes(None),
        )

    def create_table(self) -> None:
        # A schema named in the URL is created too, so a fresh schema (one
        # per tenant or per test) needs no manual step. Looked up first
        # because CREATE SCHEMA needs the CREATE privilege even if it exists.
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if curs.fetchone() is None:
                curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))
        super().create_table()
        self._add_seal_key_id()

    def _add_seal_key_id(self) -> None:
        """Stores created before seals recorded their key's id get the column (empty).
        Looked up first: ALTER TABLE would wait behind any open reader of the seals."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s AND column_name = 'key_id'",
                (self.datastore.schema, chain.SEALS_TABLE),
            )
            if curs.fetchone() is None:
                curs.execute(
                    self._sql(
                        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS key_id text",
                        chain.SEALS_TABLE,
                    )
                )

    def notification_pages(
        self,
        start: int,
        stop: int,
        topics: Sequence[str] = (),
        page: int = 2000,
        part: tuple[int, int] | None = None,
    ) -> Iterator[list[pg_stream.Note]]:
        """The log after ``start`` up to ``stop`` in pages, read by one COPY
        (whole-log readers: see ``pg_stream``)."""
        return pg_stream.notification_pages(self, start, stop, topics, page, part)

    def _sql(self, template: str, table: str) -> Composed:
        return SQL(template).format(table=Identifier(self.datastore.schema, table))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Store one save's events and side rows atomically (group commit).

        A caller that finds no batch being written leads one at once: it
        writes its save and every save queued behind it (up to
        ``max_batch``) in one transaction: one table lock, one NOTIFY, one
        insert of all events, one commit. While it writes, newcomers queue;
        once its batch only waits for the commit, it hands the lead to the
        first one queued (who writes the next batch, see ``_lead``), and when
        the commit is done it wakes each caller of its batch with its
        outcome. Under load batches grow by themselves; a lone caller waits
        for nobody. The table lock is kept, so notification ids stay
        gap-free and in commit order.

        Each caller gets its own outcome: in a batch of several saves, one
        whose version or idempotency key is taken is refused before the
        insert (see ``_insert_many``) without failing the others; if the
        batch fails for another reason (or a lone save conflicts), its saves
        are retried one transaction each.
        """
        idempotency_of(kwargs)  # type-check in the caller's thread
        if not self.group_commit or not stored_events:
            return self._insert_one(stored_events, **kwargs)
        pending = _PendingSave(stored_events, kwargs)
        with self._batch_lock:
            follow = self._batch_leading
            if follow:
                self._batch_queue.append(pending)
            else:
                self._batch_leading = True
        if follow:
            # Woken once: with the outcome, or (first in the queue when the
            # previous batch ended) to lead the next batch.
            pending.wait()
            if pending.done:
                return pending.outcome()
        self._lead(pending)
        return pending.outcome()

    def _lead(self, first: _PendingSave) -> None:
        """Write ``first`` and the saves queued behind it, handing the lead on
        as soon as this batch only waits for its commit (up to
        ``batches_in_flight`` batches overlap: while one commits, the next
        reads what it must check)."""
        with self._writer_slots:
            with self._batch_lock:
                batch = [first, *self._batch_queue[: self.max_batch - 1]]
                del self._batch_queue[: self.max_batch - 1]
            handed = False

            def hand_over() -> None:
                nonlocal handed
                if handed:
                    return
                handed = True
                with self._batch_lock:
                    successor = self._batch_queue.pop(0) if self._batch_queue else None
                    self._batch_leading = successor is not None
                if successor is not None:
                    successor.wake()

            try:
                self._write_batch(batch, hand_over if self.batches_in_flight > 1 else None)
            finally:
                for pending in batch[1:]:
                    pending.wake()
                hand_over()

    def _write_batch(
        self, batch: list[_PendingSave], hand_over: Callable[[], None] | None = None
    ) -> None:
        """Write the batch in one transaction; fall back to one save per transaction."""
        try:
            try:
                self._insert_many(batch, hand_over)
            except Exception as e:
                # A conflict is routine (a lone save is not checked first);
                # anything else is worth a line in the log.
                level = logging.DEBUG if isinstance(e, psycopg.IntegrityError) else logging.WARNING
                log.log(level, "group commit of %d saves failed (%r); one by one", len(batch), e)
                if hand_over is not None:
                    hand_over()
                # Something the pre-check cannot foresee (a lost connection, the
                # store restarting): every save gets a transaction of its own
                # (with the library's retries), and its own outcome.
                for pending in batch:
                    pending.reset()
                self._write_one_by_one(batch)
        except BaseException as e:
            for pending in batch:
                if not pending.done:
                    pending.fail(e)
            raise

    def _write_one_by_one(self, batch: list[_PendingSave]) -> None:
        for pending in batch:
            try:
                pending.succeed(self._insert_one(pending.stored_events, **pending.kwargs))
            except _TRANSIENT as e:
                # The store is away (the library's retries are spent): the
                # rest of the batch would only wait as long to fail the same way.
                for rest in batch:
                    if not rest.done:
                        rest.fail(e)
                return
            except Exception as e:
                pending.fail(e)

    def _insert_many(
        self, batch: list[_PendingSave], hand_over: Callable[[], None] | None = None
    ) -> None:
        """Every save of the batch in one transaction, settling each save's outcome.

        Two round trips on the writer connection (held by the recorder, so no
        pool check-out or ping per batch, and its statements stay prepared):

        1. outside any transaction, read the versions and idempotency keys
           of the batch already stored, and the previous chain link of each
           order (committed links never change). Saves that would conflict
           are refused here with the error their own transaction would have
           raised: they burn no notification ids and fail no one else (a
           lone save skips this check and reads only its previous link);
        2. in one pipelined transaction: lock the events table, NOTIFY,
           insert the rest (one statement per table), COMMIT. The table lock
           is held only while the server runs these, never across a round
           trip to this process. A conflict that appeared in between (a save
           committed by another process) fails the insert on its unique
           index; the batch is then retried one save per transaction.
        """
        events = [e for pending in batch for e in pending.stored_events]
        records = _idempotency_records_of(batch)
        wanted = chain.previous_wanted(events) if self.chain_enabled else []
        known = self.recent_links.known(wanted)
        wanted = [w for w in wanted if w[0] not in known]
        conn = self._writer_connection()
        q = self._batch_sql
        try:
            with (
                conn.pipeline() as pipeline,
                conn.cursor() as stored,
                conn.cursor() as keys,
                conn.cursor() as previous,
                conn.cursor() as curs,
            ):
                # A lone save skips the check: if it conflicts, its insert fails
                # and it is retried alone anyway (one round trip saved).
                check = len(batch) > 1
                if check:
                    stored.execute(
                        q.select_versions,
                        ([e.originator_id for e in events], [e.originator_version for e in events]),
                        prepare=True,
                    )
                if check and records:
                    keys.execute(q.select_keys, ([r.key for r in records],), prepare=True)
                if wanted:
                    previous.execute(
                        q.select_links,
                        ([o for o, _ in wanted], [v for _, v in wanted]),
                        prepare=True,
                    )
                if check or wanted:
                    pipeline.sync()
                taken_versions = {
                    (chain.originator_text(r["originator_id"]), r["originator_version"])
                    for r in (stored.fetchall() if check else [])
                }
                taken_keys = {r["key"] for r in keys.fetchall()} if check and records else set()
                heads = {**known, **(chain.previous_map(previous.fetchall()) if wanted else {})}
                accepted = _refuse_conflicts(batch, taken_versions, taken_keys)
                events = [e for pending in accepted for e in pending.stored_events]
                links = chain.chain_links(events, heads) if self.chain_enabled else []
                accepted_records = _idempotency_records_of(accepted)
                conn.execute("BEGIN")
                for statement in q.lock:
                    curs.execute(statement, prepare=True)
                curs.execute(q.notify)
                if accepted_records:
                    curs.execute(
                        q.insert_keys,
                        _idempotency_columns(accepted_records),
                        prepare=True,
                    )
                if events:
                    columns = [
                        [e.originator_id for e in events],
                        [e.originator_version for e in events],
                        [e.topic for e in events],
                        [e.state for e in events],
                    ]
                    if links:  # in the events' order (links come in version order)
                        hashes = {(o, v): h for o, v, h in links}
                        columns.append(
                            [
                                hashes[chain.originator_text(e.originator_id), e.originator_version]
                                for e in events
                            ]
                        )
                    statement = q.insert_events_and_links if links else q.insert_events
                    stored.execute(statement, columns, prepare=True)
                conn.execute("COMMIT")
                if hand_over is not None:
                    hand_over()  # only the commit is left to wait for
                pipeline.sync()
                ids = [row["notification_id"] for row in stored.fetchall()] if events else []
        except BaseException:
            # Whatever state it is in (aborted pipeline, lost server, prepared
            # statements psycopg believes in): start again with a fresh one.
            self._release_writer(conn, discard=True)
            raise
        self._release_writer(conn)
        # Committed: hand out the notification ids, in the order inserted.
        if len(ids) != len(events):
            msg = f"expected {len(events)} notification ids, got {len(ids)}"
            raise ProgrammingError(msg)
        self.recent_links.remember(links)
        start = 0
        for pending in accepted:
            end = start + len(pending.stored_events)
            pending.succeed(ids[start:end])
            start = end

    def _writer_connection(self) -> Connection[DictRow]:
        """A connection to write a batch on, kept between batches (one per
        batch in flight)."""
        with self._batch_lock:
            while self._idle_writers:
                conn = self._idle_writers.pop()
                if not (conn.closed or conn.broken):
                    return conn
                self._put_back(conn)
        pool = self.datastore.pool
        pool.open(self.datastore.pool_open_timeout is not None,
                  self.datastore.pool_open_timeout or 30.0)  # fmt: skip
        return pool.getconn()

    def _release_writer(self, conn: Connection[DictRow], *, discard: bool = False) -> None:
        """Keep the writer for the next batch, or (``discard``) close it."""
        if discard:
            conn.close()
            self._put_back(conn)
            return
        with self._batch_lock:
            self._idle_writers.append(conn)

    def _put_back(self, conn: Connection[DictRow]) -> None:
        with contextlib.suppress(Exception):
            self.datastore.pool.putconn(conn)

    def close_writer(self) -> None:
        """Return the held writer connections (the factory calls this on close)."""
        with self._batch_lock:
            idle, self._idle_writers = self._idle_writers, []
        for conn in idle:
            self._put_back(conn)

    def _insert_one(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """One save in a transaction of its own, conflicts named by side table."""
        try:
            self.recent_links.discard_staged()
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            self.recent_links.commit_staged()
        except IntegrityError as e:
            conflict = _side_table_conflict(e, kwargs)
            if conflict is None:
                raise
            raise conflict from e
        except (OperationalError, psycopg.OperationalError) as e:
            # Racing saves with one key: now and then psycopg reports the losing
            # transaction's unique violation as "pipeline aborted" instead. Nothing
            # was written; if the key is taken, say so like any other key conflict.
            record = idempotency_of(kwargs)
            if record is None or self.find_idempotency(record.key) is None:
                raise
            raise CONFLICTS_BY_TABLE[IDEMPOTENCY_TABLE](kwargs) from e
        return ids

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        if not self._has_side_rows(**kwargs) and not self.chain_enabled:
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        # The library's own sequence (lock the events table, NOTIFY, insert
        # the events) with the side rows between the lock and the events:
        # - under the lock, no side insert waits on another transaction's
        #   uncommitted key;
        # - before the events, so a reused key is reported as such even when
        #   the version conflicts too (the application then answers with the
        #   first result instead of re-running the command).
        self._lock_table(curs)
        self._notify_channel(curs)
        self._insert_side_rows(curs, **kwargs)
        wanted = chain.previous_wanted(stored_events) if self.chain_enabled else []
        known = self.recent_links.known(wanted)
        wanted = [w for w in wanted if w[0] not in known]
        if wanted:
            # One query for the previous link of every originator in the batch.
            curs.execute(
                self.select_previous_links_statement,
                ([o for o, _ in wanted], [v for _, v in wanted]),
                prepare=False,  # see _insert_links: an aborted pipeline would desync psycopg
            )
        # Sync now, so a side row's conflict is raised here (the library then
        # rolls back) rather than while sending the events, which would leave
        # the pipeline unsynced and fail the COMMIT with "pipeline aborted".
        if wanted or self._has_side_rows(**kwargs):
            with curs.connection.pipeline() as pipeline:
                pipeline.sync()
        links: list[chain.Link] = []
        if self.chain_enabled:
            previous = chain.previous_map(curs.fetchall()) if wanted else {}
            links = chain.chain_links(stored_events, {**known, **previous})
            self.recent_links.stage(links)
        if links:
            self._insert_links(curs, links)
        # The library's events INSERT: the last statement on the cursor, whose
        # RETURNING rows the library reads.
        es_postgres.PostgresAggregateRecorder._insert_stored_events(
            self, curs, stored_events, **kwargs
        )

    def _insert_links(self, curs: Cursor[DictRow], links: list[chain.Link]) -> None:
        curs.execute(
            self.insert_links_statement,
            ([o for o, _, _ in links], [v for _, v, _ in links], [h for _, _, h in links]),
            # Not prepared: in a pipeline that aborts (a version conflict) psycopg
            # would believe a statement prepared that the server never kept.
            prepare=False,
        )

    def _has_side_rows(self, **kwargs: Any) -> bool:
        """Whether this save writes side rows; extend with ``_insert_side_rows``."""
        return bool(_idempotency_records(kwargs))

    def _insert_side_rows(self, curs: Cursor[DictRow], **kwargs: Any) -> None:
        """Rows written with the events (pipeline mode: errors surface at sync)."""
        records = _idempotency_records(kwargs)
        if records:
            curs.execute(
                self.insert_idempotency_statement, _idempotency_columns(records), prepare=False
            )

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_idempotency_statement, (key,))
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

    # A retried allocation may skip a number (if the lost reply had
    # committed) but never repeats one.
    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def allocate_order_number(self, year: int, count: int = 1) -> int:
        # One statement on an autocommit connection is its own transaction:
        # one round trip instead of BEGIN, statement, COMMIT.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.next_order_number_statement, (year, count), prepare=True)
            row = curs.fetchone()
        assert row is not None
        return int(row["last"])


_CREATE_AUDIT = [
    (
        "CREATE TABLE IF NOT EXISTS {table} (originator_id uuid NOT NULL, "
        "version bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (originator_id, version))",
        chain.CHAIN_TABLE,
    ),
    (
        "CREATE TABLE IF NOT EXISTS {table} (originator_id uuid NOT NULL, "
        "version bigint NOT NULL, hash bytea NOT NULL, sealed_at text NOT NULL, "
        "mac bytea NOT NULL, key_id text, PRIMARY KEY (originator_id, version))",
        chain.SEALS_TABLE,
    ),
    (
        "CREATE TABLE IF NOT EXISTS {table} (customer text PRIMARY KEY, key bytea, "
        "created_at text NOT NULL, erased_at text)",
        chain.CUSTOMER_KEYS_TABLE,
    ),
]


def _as_bytes(query: Any) -> bytes:
    if isinstance(query, bytes):
        return query
    if isinstance(query, str):
        return query.encode()
    rendered: bytes = query.as_bytes(None)
    return rendered


@dataclass(frozen=True)
class _BatchSQL:
    """The statements of a group commit, as bytes."""

    lock: list[bytes]
    notify: bytes
    select_versions: bytes
    select_keys: bytes
    select_links: bytes
    insert_keys: bytes
    insert_links: bytes
    insert_events: bytes
    insert_events_and_links: bytes


class _PendingSave:
    """One caller's save waiting in the group-commit queue, and its outcome."""

    __slots__ = ("_signal", "done", "error", "ids", "kwargs", "stored_events")

    def __init__(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> None:
        self.stored_events = stored_events
        self.kwargs = kwargs
        self.done = False
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        # Held until the caller is woken (cheaper than an Event: one waiter).
        self._signal = threading.Lock()
        self._signal.acquire()

    def wait(self) -> None:
        self._signal.acquire()

    def wake(self) -> None:
        self._signal.release()

    def reset(self) -> None:
        self.done = False
        self.ids = None
        self.error = None

    def succeed(self, ids: Sequence[int] | None) -> None:
        self.ids = ids
        self.done = True

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done = True

    def outcome(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.ids


def _idempotency_records(kwargs: dict[str, Any]) -> list[IdempotencyRecord]:
    """The idempotency rows of one save (``idempotency=``) or of a batch."""
    batch: list[IdempotencyRecord] | None = kwargs.get("idempotency_batch")
    if batch is not None:
        return batch
    record = idempotency_of(kwargs)
    return [record] if record is not None else []


def _idempotency_columns(records: Sequence[IdempotencyRecord]) -> tuple[list[Any], ...]:
    return (
        [r.key for r in records],
        [r.fingerprint for r in records],
        [r.order_id for r in records],
        [r.version for r in records],
        [r.recorded_at for r in records],
    )


def _idempotency_records_of(batch: Sequence[_PendingSave]) -> list[IdempotencyRecord]:
    return [r for pending in batch if (r := idempotency_of(pending.kwargs)) is not None]


def _refuse_conflicts(
    batch: list[_PendingSave], taken_versions: set[tuple[str, int]], taken_keys: set[str]
) -> list[_PendingSave]:
    """Fail the saves whose key or versions are taken (stored, or earlier in the
    batch) with the error their own transaction would have raised; the rest."""
    accepted: list[_PendingSave] = []
    versions = set(taken_versions)
    keys = set(taken_keys)
    for pending in batch:
        record = idempotency_of(pending.kwargs)
        mine = [
            (chain.originator_text(e.originator_id), e.originator_version)
            for e in pending.stored_events
        ]
        if record is not None and record.key in keys:
            # A reused key is reported as such even if the version conflicts too.
            pending.fail(IdempotencyKeyConflict(record.key))
        elif any(v in versions for v in mine) or len(set(mine)) < len(mine):
            pending.fail(
                IntegrityError(
                    "duplicate key value violates unique constraint on "
                    "(originator_id, originator_version)"
                )
            )
        else:
            accepted.append(pending)
            versions.update(mine)
            if record is not None:
                keys.add(record.key)
    return accepted


def _side_table_conflict(error: IntegrityError, kwargs: dict[str, Any]) -> IntegrityError | None:
    """The specific conflict for a side table's uniqueness violation, if it is one."""
    cause = error.__cause__
    if not isinstance(cause, psycopg.errors.UniqueViolation):
        return None
    make_conflict = CONFLICTS_BY_TABLE.get(cause.diag.table_name or "")
    return make_conflict(kwargs) if make_conflict else None


class LedgerPostgresFactory(es_postgres.PostgresFactory):
    """Builds ``LedgerPostgresRecorder`` as the application recorder."""

    application_recorder_class = LedgerPostgresRecorder

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        if isinstance(recorder, LedgerPostgresRecorder):
            self._ledger_recorders = [*getattr(self, "_ledger_recorders", []), recorder]
        return recorder

    def close(self) -> None:
        # A recorder's writer connection goes back before the pool closes.
        for recorder in getattr(self, "_ledger_recorders", []):
            recorder.close_writer()
        super().close()
