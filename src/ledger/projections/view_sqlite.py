"""The SQLite view: a rows table and a tracking table of its own, in the store's file.

Each view keeps its position in its own tracking table (``<table>_tracking``,
the library's single-row layout) so that a blue/green rebuild can rename
rows and position together in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

from ledger.projections import sqltext
from ledger.projections.framework import Filter, R, ReadModel, View

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_CHUNK = 500  # bound parameters per IN (...) list


def checked_name(name: str) -> str:
    """A table name safe to interpolate."""
    if not _NAME.match(name) or len(name) > 50:
        raise ValueError(f"invalid table name {name!r}")
    return name


class SQLiteView(SQLiteTrackingRecorder, Generic[R]):
    """A read model stored in SQLite; rows and position commit together."""

    def __init__(self, datastore: SQLiteDatastore, model: ReadModel[R], table: str = "") -> None:
        if not datastore.single_row_tracking:
            raise ValueError("views need single-row tracking (SINGLE_ROW_TRACKING=y)")
        self.model = model
        self.table = checked_name(table or f"view_{model.name}")
        self.tracking_table = f"{self.table}_tracking"
        super().__init__(datastore)
        self.insert_tracking_statement = (
            f"INSERT INTO {self.tracking_table} "
            "VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {self.tracking_table}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {self.tracking_table} WHERE application_name=?"
        )
        self._upsert = sqltext.upsert_row(model, self.table, sqltext.SQLITE)
        self._text_columns = sqltext.text_columns(model)

    def construct_create_table_statements(self) -> list[str]:
        return [
            sqltext.create_rows_table(self.model, self.table, sqltext.SQLITE),
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table} ("
            "application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID",
        ]

    def rows(self, keys: Iterable[str]) -> dict[str, R]:
        with self.datastore.transaction(commit=False) as c:
            return self.rows_in(c, keys)

    def rows_in(self, c: SQLiteCursor, keys: Iterable[str]) -> dict[str, R]:
        """``rows`` in a transaction of the caller's (``runner.step_together``)."""
        wanted = list(keys)
        found: dict[str, R] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            c.execute(f"SELECT key, data FROM {self.table} WHERE key IN ({marks})", chunk)
            for record in c.fetchall():
                found[record["key"]] = self.model.load(record["data"])
        return found

    def write(
        self, changes: Mapping[str, R | None], tracking: Tracking | None, expected: int | None
    ) -> None:
        with self.write_transaction() as c:
            self.write_in(c, changes, tracking, expected)

    def write_transaction(self) -> AbstractContextManager[SQLiteCursor]:
        """A transaction to write views in: this one's, or several of one
        store together (``runner.step_together``)."""
        return self.datastore.transaction(commit=True)

    def write_in(
        self,
        c: SQLiteCursor,
        changes: Mapping[str, R | None],
        tracking: Tracking | None,
        expected: int | None,
    ) -> None:
        """``write`` in a transaction of the caller's (``runner.step_together``)."""
        upserts = [
            sqltext.row_params(self.model, key, row)
            for key, row in changes.items()
            if row is not None
        ]
        deletes = [(key,) for key, row in changes.items() if row is None]
        if tracking is not None:  # None: a part of a split fill (see ``View.fill``)
            self._require_position(c, tracking.application_name, expected)
        if upserts:
            c.executemany(self._upsert, upserts)
        if deletes:
            c.executemany(f"DELETE FROM {self.table} WHERE key = ?", deletes)
        if tracking is not None:
            self._insert_tracking(c, tracking)

    def fill(self, rows: Mapping[str, R], tracking: Tracking | None) -> None:
        self.write(rows, tracking, expected=None)

    def _require_position(self, c: SQLiteCursor, name: str, expected: int | None) -> None:
        # Inside the write transaction (SQLite has one writer), so nobody
        # can move the position between this check and the commit.
        if self._max_tracking_id(name, c) != expected:
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
            self.table, filters, order_by, limit, offset, sqltext.SQLITE, self._text_columns
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [self.model.load(record["data"]) for record in c.fetchall()]

    def count(self, filters: Sequence[Filter] = ()) -> int:
        self.model.check_filters(filters)
        statement, params = sqltext.count_rows(self.table, filters, sqltext.SQLITE)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return int(c.fetchone()["n"])

    def shadow(self) -> View[R]:
        shadow = type(self)(self.datastore, self.model, f"{self.table}__shadow")
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {shadow.table}")
            c.execute(f"DROP TABLE IF EXISTS {shadow.tracking_table}")
        shadow.create_table()
        return shadow

    def swap_in(self, shadow: View[R]) -> None:
        assert isinstance(shadow, SQLiteView)
        with self.datastore.transaction(commit=True) as c:
            for live, new in (
                (self.table, shadow.table),
                (self.tracking_table, shadow.tracking_table),
            ):
                c.execute(f"DROP TABLE {live}")
                c.execute(f"ALTER TABLE {new} RENAME TO {live}")
            self.swapped(c, shadow)

    def swapped(self, c: SQLiteCursor, shadow: SQLiteView[R]) -> None:
        """In the swap's transaction, after the rename: a subclass's own indexes
        (SQLite renames none with their table)."""


def make_sqlite_view(datastore: Any, model: ReadModel[R], table: str = "") -> SQLiteView[R]:
    view = SQLiteView(datastore, model, table)
    view.create_table()
    return view
