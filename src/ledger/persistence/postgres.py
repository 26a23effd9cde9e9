"""PostgreSQL recorder and factory (``postgresql://...``), for production."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.persistence import chain
from ledger.persistence.records import (
    CONFLICTS_BY_TABLE,
    IDEMPOTENCY_TABLE,
    ORDER_NUMBERS_TABLE,
    IdempotencyRecord,
    idempotency_of,
)

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
            "VALUES (%s, %s, %s, %s, %s)",
            IDEMPOTENCY_TABLE,
        )
        self.select_idempotency_statement = self._sql(
            "SELECT key, fingerprint, order_id, version, recorded_at "
            "FROM {table} WHERE key = %s",
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

    def _sql(self, template: str, table: str) -> Composed:
        return SQL(template).format(
            table=Identifier(self.datastore.schema, table)
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
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
        return idempotency_of(kwargs) is not None

    def _insert_side_rows(self, curs: Cursor[DictRow], **kwargs: Any) -> None:
        """Rows written with the events (pipeline mode: errors surface at sync)."""
        record = idempotency_of(kwargs)
        if record is not None:
            curs.execute(
                self.insert_idempotency_statement,
                (
                    record.key,
                    record.fingerprint,
                    record.order_id,
                    record.version,
                    record.recorded_at,
                ),
                prepare=False,
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
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.next_order_number_statement, (year, count))
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
        "mac bytea NOT NULL, PRIMARY KEY (originator_id, version))",
        chain.SEALS_TABLE,
    ),
    (
        "CREATE TABLE IF NOT EXISTS {table} (customer text PRIMARY KEY, key bytea, "
        "created_at text NOT NULL, erased_at text)",
        chain.CUSTOMER_KEYS_TABLE,
    ),
]


def _side_table_conflict(
    error: IntegrityError, kwargs: dict[str, Any]
) -> IntegrityError | None:
    """The specific conflict for a side table's uniqueness violation, if it is one."""
    cause = error.__cause__
    if not isinstance(cause, psycopg.errors.UniqueViolation):
        return None
    make_conflict = CONFLICTS_BY_TABLE.get(cause.diag.table_name or "")
    return make_conflict(kwargs) if make_conflict else None


class LedgerPostgresFactory(es_postgres.PostgresFactory):
    """Builds ``LedgerPostgresRecorder`` as the application recorder."""

    application_recorder_class = LedgerPostgresRecorder
