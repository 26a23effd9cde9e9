"""The PostgreSQL view: a rows table and its own tracking table in the store's schema."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from ledger.persistence.creation import create_racing
from ledger.projections import sqltext
from ledger.projections.framework import Filter, R, ReadModel, View
from ledger.projections.view_sqlite import checked_name

ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"
"""A view's write does not wait for its WAL to reach the disk. A read model
is derived data and its rows commit with their tracking position: a server
crash can only lose the last writes whole, which are then applied again."""


class PostgresView(PostgresTrackingRecorder, Generic[R]):
    """A read model stored in PostgreSQL; rows and position commit together.

    The write locks the view's tracking row first (``FOR UPDATE``) and checks
    it is still where the page started, so two runners cannot both apply a page.
    """

    renamed_indexes: tuple[str, ...] = ()
    """Indexes of a subclass's own, named ``<table>_<suffix>``: renamed with the table on a swap."""

    def __init__(self, datastore: PostgresDatastore, model: ReadModel[R], table: str = "") -> None:
        self.model = model
        self.table = checked_name(table or f"view_{model.name}")
        super().__init__(datastore, tracking_table_name=f"{self.table}_tracking")
        self.schema = checked_name(self.datastore.schema.lower())
        self.qualified = f'"{self.schema}"."{self.table}"'
        self.qualified_tracking = f'"{self.schema}"."{self.tracking_table_name}"'
        rows_table = sqltext.create_rows_table(model, self.qualified, sqltext.POSTGRES)
        self.sql_create_statements[:0] = [
            Composed([SQL(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')]),
            Composed([SQL(rows_table)]),
        ]
        self._upsert = sqltext.upsert_json_rows(model, self.qualified)
        names = ", ".join(sqltext.stored_columns(model))
        self._copy = f"COPY {self.qualified} ({names}) FROM STDIN"
        self._text_columns = sqltext.text_columns(model)

    def rows(self, keys: Iterable[str]) -> dict[str, R]:
        with self.datastore.transaction(commit=False) as curs:
            return self.rows_in(curs, keys)

    def rows_in(self, curs: Cursor[DictRow], keys: Iterable[str]) -> dict[str, R]:
        """``rows`` in a transaction of the caller's (``runner.step_together``)."""
        curs.execute(f"SELECT key, data FROM {self.qualified} WHERE key = ANY(%s)", (list(keys),))
        return {r["key"]: self.model.load(r["data"]) for r in curs.fetchall()}

    def write(
        self, changes: Mapping[str, R | None], tracking: Tracking, expected: int | None
    ) -> None:
        with self.write_transaction() as curs:
            self.write_in(curs, changes, tracking, expected)

    @contextmanager
    def write_transaction(self) -> Iterator[Cursor[DictRow]]:
        """A transaction to write views in (``ASYNC_COMMIT``): this one's, or
        several of one store together (``runner.step_together``)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(ASYNC_COMMIT)
            yield curs

    def write_in(
        self,
        curs: Cursor[DictRow],
        changes: Mapping[str, R | None],
        tracking: Tracking,
        expected: int | None,
    ) -> None:
        """``write`` in a transaction of the caller's (``runner.step_together``)."""
        upserts = [(key, row) for key, row in changes.items() if row is not None]
        deletes = [key for key, row in changes.items() if row is None]
        self._require_position(curs, tracking.application_name, expected)
        if upserts:  # one statement for the page (``executemany``: one per row)
            curs.execute(self._upsert, (sqltext.json_rows(self.model, upserts),))
        if deletes:
            curs.execute(f"DELETE FROM {self.qualified} WHERE key = ANY(%s)", (deletes,))
        self._insert_tracking(curs, tracking)

    def fill(self, rows: Mapping[str, R], tracking: Tracking | None) -> None:
        """COPY every row into the (empty) table, then record ``tracking``."""
        with self.write_transaction() as curs:
            if tracking is not None:
                self._require_position(curs, tracking.application_name, None)
            with curs.copy(self._copy) as copy:
                for key, row in rows.items():
                    copy.write_row(sqltext.row_params(self.model, key, row))
            if tracking is not None:
                self._insert_tracking(curs, tracking)

    def _require_position(self, curs: Cursor[DictRow], name: str, expected: int | None) -> None:
        curs.execute(
            f"SELECT notification_id FROM {self.qualified_tracking} "
            "WHERE application_name = %s FOR UPDATE",
            (name,),
        )
        found = curs.fetchone()
        if (found["notification_id"] if found else None) != expected:
            raise IntegrityError(f"{self.table} moved past {expected}")

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[R]:
        self.model.check_filters(filters, order_by)
        statement, params = sqltext.select_rows(
            self.qualified, filters, order_by, limit, offset, sqltext.POSTGRES, self._text_columns
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [self.model.load(r["data"]) for r in curs.fetchall()]

    def count(self, filters: Sequence[Filter] = ()) -> int:
        self.model.check_filters(filters)
        statement, params = sqltext.count_rows(self.qualified, filters, sqltext.POSTGRES)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            found = curs.fetchone()
            return int(found["n"]) if found else 0

    def shadow(self) -> View[R]:
        shadow = type(self)(self.datastore, self.model, f"{self.table}__shadow")
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"DROP TABLE IF EXISTS {shadow.qualified}")
            curs.execute(f"DROP TABLE IF EXISTS {shadow.qualified_tracking}")
        shadow.create_table()
        return shadow

    def swap_in(self, shadow: View[R]) -> None:
        """Drop the live tables and rename the shadow's in their place, in one
        transaction: readers wait on the lock and then read the new table."""
        assert isinstance(shadow, PostgresView)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"SET LOCAL lock_timeout = '{int(self.datastore.lock_timeout)}s'")
            for live, new in (
                (self.table, shadow.table),
                (self.tracking_table_name, shadow.tracking_table_name),
            ):
                curs.execute(f'DROP TABLE "{self.schema}"."{live}"')
                curs.execute(f'ALTER TABLE "{self.schema}"."{new}" RENAME TO "{live}"')
                curs.execute(f'ALTER INDEX "{self.schema}"."{new}_pkey" RENAME TO "{live}_pkey"')
            for suffix in self.renamed_indexes:
                curs.execute(
                    f'ALTER INDEX "{self.schema}"."{shadow.table}_{suffix}" '
                    f'RENAME TO "{self.table}_{suffix}"'
                )


def make_postgres_view(datastore: Any, model: ReadModel[R], table: str = "") -> PostgresView[R]:
    """The view, its tables created (racing other processes starting together)."""
    view = PostgresView(datastore, model, table)
    create_racing(view.create_table)
    return view
