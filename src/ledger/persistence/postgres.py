"""PostgreSQL recorder and factory (``postgresql://...``), for production.

The recorder is the library's, composed with one part per concern:
``group_commit`` (the queue of concurrent saves) and ``pg_batch`` (a batch
in one transaction), ``pg_chain`` (the hash chain), ``pg_idempotency``,
``pg_numbering`` (order numbers) and ``side_rows`` (rows written beside
the events, and what a conflict on them means).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence import chain, pg_stream
from ledger.persistence.group_commit import GroupCommit, HandOver, Outcome, PendingSave
from ledger.persistence.pg_batch import BatchWriter
from ledger.persistence.pg_batch_sql import batch_statements
from ledger.persistence.pg_chain import PostgresChain
from ledger.persistence.pg_idempotency import PostgresIdempotency
from ledger.persistence.pg_numbering import PostgresOrderNumbers
from ledger.persistence.pg_pool import skip_fresh_pings
from ledger.persistence.pg_writers import WriterConnections
from ledger.persistence.records import IdempotencyRecord, idempotency_of
from ledger.persistence.side_rows import SideRows


class LedgerPostgresRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's PostgreSQL recorder plus idempotency keys, order numbers
    and the hash chain, with group commit.

    A save alone runs in the library's insert transaction, with its side
    rows after the library's table lock and NOTIFY and before the events
    (see ``_insert_stored_events``); a uniqueness violation on a side table
    is turned into that table's own ``IntegrityError`` subclass.
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True
    # Group commit: concurrent saves of this process share one transaction
    # (see ``group_commit``). Off, every save is a transaction of its own.
    group_commit = True
    # Threads a bulk writer sends saves from (they fill group-commit batches).
    concurrent_saves = 16
    # At most this many saves in one transaction (read when the recorder is built).
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
        self.idempotency = PostgresIdempotency(datastore)
        self.order_numbers = PostgresOrderNumbers(datastore)
        self.hash_chain = PostgresChain(datastore, self.events_table_name)
        self.side_rows = SideRows[Cursor[DictRow]](self.idempotency)
        self.recent_links = self.hash_chain.recent
        self.sql_create_statements.extend(
            [
                *self.idempotency.create_statements,
                *self.order_numbers.create_statements,
                *self.hash_chain.create_statements,
                *[self._sql(t, n) for t, n in _CREATE_AUDIT],
            ]
        )
        self._build_group_commit()

    def _build_group_commit(self) -> None:
        self.writers = WriterConnections(self.datastore)
        statements = batch_statements(
            self.datastore, self.events_table_name, self.lock_table_statements,
            self.channel_name, self.idempotency, self.hash_chain,
        )  # fmt: skip
        self.batch_writer = BatchWriter(statements, self.writers, self.hash_chain, self.side_rows)
        self.commit_queue = GroupCommit(
            self._write_batch,
            self._insert_one,
            max_batch=self.max_batch,
            in_flight=self.batches_in_flight,
            routine=(psycopg.IntegrityError,),
        )
        # The queue's state, under the names its tests gate batches by.
        self._batch_lock = self.commit_queue.lock
        self._batch_queue = self.commit_queue.queue

    @property
    def _batch_leading(self) -> bool:
        return self.commit_queue.leading

    @_batch_leading.setter
    def _batch_leading(self, leading: bool) -> None:
        self.commit_queue.leading = leading

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

    def notification_page(
        self, start: int, limit: int, stop: int, topics: Sequence[str] = ()
    ) -> list[pg_stream.Note]:
        """What ``select_notifications(start, limit, stop=stop, topics=topics,
        inclusive_of_start=False)`` returns, read by one binary COPY into
        lightweight rows (the change feed's pages)."""
        pages = pg_stream.notification_pages(self, start, stop, topics, limit, limit=limit)
        return [note for page in pages for note in page]

    def _sql(self, template: str, table: str) -> Composed:
        return SQL(template).format(table=Identifier(self.datastore.schema, table))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        """Store one save's events and side rows atomically (group commit).

        Each caller gets its own outcome, also when its save shares a
        transaction with others (see ``group_commit`` and ``pg_batch``).
        """
        idempotency_of(kwargs)  # type-check in the caller's thread
        if not self.group_commit or not stored_events:
            return self._insert_one(stored_events, **kwargs)
        return self.commit_queue.save(stored_events, kwargs)

    def _write_batch(self, batch: list[PendingSave], hand_over: HandOver | None) -> None:
        self.batch_writer.write(batch, hand_over, self.chain_enabled)

    def close_writer(self) -> None:
        """Return the held writer connections (the factory calls this on close)."""
        self.writers.close()

    def _insert_one(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Outcome:
        """One save in a transaction of its own, conflicts named by side table."""
        try:
            self.recent_links.discard_staged()
            ids: Outcome = super().insert_events(stored_events, **kwargs)
            self.recent_links.commit_staged()
        except IntegrityError as e:
            conflict = self._side_table_conflict(e, kwargs)
            if conflict is None:
                raise
            raise conflict from e
        except (OperationalError, psycopg.OperationalError) as e:
            # Racing saves with one key: now and then psycopg reports the losing
            # transaction's unique violation as "pipeline aborted" instead. Nothing
            # was written; if the key is taken, say so like any other key conflict.
            conflict = self.side_rows.taken(kwargs)
            if conflict is None:
                raise
            raise conflict from e
        return ids

    def _side_table_conflict(
        self, error: IntegrityError, kwargs: dict[str, Any]
    ) -> IntegrityError | None:
        """The specific conflict for a side table's uniqueness violation, if it is one."""
        cause = error.__cause__
        if not isinstance(cause, psycopg.errors.UniqueViolation):
            return None
        return self.side_rows.conflict(cause.diag.table_name or "", kwargs)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        side_rows = self.side_rows.wanted(kwargs)
        if not side_rows and not self.chain_enabled:
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
        self.side_rows.insert(curs, kwargs)
        links = self._chain_links(curs, stored_events, sync=side_rows)
        if links:
            self.hash_chain.insert(curs, links)
        # The library's events INSERT: the last statement on the cursor, whose
        # RETURNING rows the library reads.
        es_postgres.PostgresAggregateRecorder._insert_stored_events(
            self, curs, stored_events, **kwargs
        )

    def _chain_links(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], *, sync: bool
    ) -> list[chain.Link]:
        """The save's links (staged until its commit), the previous ones read
        in one query; ``sync``: sync the pipeline even if nothing is read."""
        wanted, known = self.hash_chain.wanted(stored_events) if self.chain_enabled else ([], {})
        if wanted:
            self.hash_chain.select_previous(curs, wanted)
        # Sync now, so a side row's conflict is raised here (the library then
        # rolls back) rather than while sending the events, which would leave
        # the pipeline unsynced and fail the COMMIT with "pipeline aborted".
        if wanted or sync:
            with curs.connection.pipeline() as pipeline:
                pipeline.sync()
        if not self.chain_enabled:
            return []
        links = self.hash_chain.links(stored_events, known, curs.fetchall() if wanted else ())
        self.recent_links.stage(links)
        return links

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self.idempotency.find(key)

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        return self.order_numbers.allocate(year, count)


# Tables of the audit tools, created with the store (the recorder writes none).
_CREATE_AUDIT = [
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


class LedgerPostgresFactory(es_postgres.PostgresFactory):
    """Builds ``LedgerPostgresRecorder`` as the application recorder."""

    application_recorder_class = LedgerPostgresRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # The pre-ping is skipped for connections returned moments ago (pg_pool.py).
        self.fresh_check = skip_fresh_pings(self.datastore.pool)

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
