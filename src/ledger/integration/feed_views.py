"""Where the feed's read model keeps its rows: a table keyed by position.

``position, type, order_id, item, sealed`` (see ``feed_model.FeedRow``),
an index on ``(order_id, position)`` for one order's reads, and the view's
own tracking table, as every view has (``view_sqlite``, ``view_postgres``):
rows and position commit together, and a rebuild swaps both in at once.
Rows are only ever added (an event's item does not change).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from ledger.integration.feed_kept import Kept
from ledger.projections import sqltext
from ledger.projections.framework import Filter, ReadModel, View
from ledger.projections.view_memory import MemoryView
from ledger.projections.view_sqlite import SQLiteView

COLUMNS = "position, type, order_id, item, sealed"


def row_values(row: Any) -> tuple[Any, ...]:
    return (row.position, row.type, row.order_id, row.item, row.sealed)


def items_query(
    table: str, types: Sequence[str], orders: Sequence[str], param: str
) -> tuple[str, list[Any]]:
    """The SELECT of ``FeedStore.items`` (after, bound and limit its first
    and last parameters)."""
    where = [f"position > {param}", f"position <= {param}"]
    params: list[Any] = []
    for column, values in (("type", types), ("order_id", orders)):
        if values:
            where.append(f"{column} IN ({', '.join(param for _ in values)})")
            params.extend(values)
    statement = (
        f"SELECT position, item, sealed FROM {table} WHERE {' AND '.join(where)} "
        f"ORDER BY position LIMIT {param}"
    )
    return statement, params


class SQLiteFeedView(SQLiteView[Any]):
    """The feed's rows in the SQLite store."""

    def construct_create_table_statements(self) -> list[str]:
        tracking = super().construct_create_table_statements()[1]
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (position INTEGER PRIMARY KEY, "
            "type TEXT NOT NULL, order_id TEXT NOT NULL, item TEXT NOT NULL, sealed TEXT)",
            f"CREATE INDEX IF NOT EXISTS {self.table}_order ON {self.table} (order_id, position)",
            tracking,
        ]

    def rows_in(self, c: SQLiteCursor, keys: Iterable[str]) -> dict[str, Any]:
        wanted = [int(key) for key in keys]
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            c.execute(f"SELECT {COLUMNS} FROM {self.table} WHERE position IN ({marks})", chunk)
            for record in c.fetchall():
                found[str(record[0])] = self.model.load(_dumped(tuple(record)))
        return found

    def write_in(
        self,
        c: SQLiteCursor,
        changes: Mapping[str, Any],
        tracking: Tracking | None,
        expected: int | None,
    ) -> None:
        if tracking is not None:
            self._require_position(c, tracking.application_name, expected)
        rows = [row_values(row) for row in changes.values() if row is not None]
        if rows:
            c.executemany(f"INSERT INTO {self.table} ({COLUMNS}) VALUES (?, ?, ?, ?, ?)", rows)
        if tracking is not None:
            self._insert_tracking(c, tracking)

    def items(
        self, after: int, limit: int, bound: int, types: Sequence[str], orders: Sequence[str]
    ) -> list[Kept]:
        statement, params = items_query(self.table, types, orders, "?")
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [after, bound, *params, limit])
            return [tuple(record) for record in c.fetchall()]

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        self.model.check_filters(filters, order_by)
        clause, params = sqltext.where(filters, sqltext.SQLITE)
        statement = f"SELECT {COLUMNS} FROM {self.table}{clause} ORDER BY position"
        statement += f" LIMIT {int(limit) if limit is not None else -1} OFFSET {int(offset)}"
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [self.model.load(_dumped(tuple(r))) for r in c.fetchall()]

    def swapped(self, c: SQLiteCursor, shadow: SQLiteView[Any]) -> None:
        """Its index made anew under the live name (SQLite renames no index)."""
        c.execute(f"DROP INDEX IF EXISTS {shadow.table}_order")
        c.execute(f"CREATE INDEX {self.table}_order ON {self.table} (order_id, position)")


def _dumped(record: tuple[Any, ...]) -> str:
    """A stored record as the model's dump (its load makes the row)."""
    return orjson.dumps(list(record)).decode()


class MemoryFeedView(MemoryView[Any]):
    """The feed's rows in memory (``memory://`` stores)."""

    def items(
        self, after: int, limit: int, bound: int, types: Sequence[str], orders: Sequence[str]
    ) -> list[Kept]:
        filters: list[Filter] = [("position", ">", after), ("position", "<=", bound)]
        if types:
            filters.append(("type", "in", list(types)))
        if orders:
            filters.append(("order_id", "in", list(orders)))
        rows = self.select(filters, order_by=["position"], limit=limit)
        return [(row.position, row.item, row.sealed) for row in rows]


def feed_view(model: ReadModel[Any], store: str, datastore: Any, table: str) -> View[Any]:
    """The feed model's view in a store of this kind (its tables created)."""
    if store == "memory":
        return MemoryFeedView(model, table)
    if store == "sqlite":
        assert isinstance(datastore, SQLiteDatastore)
        view = SQLiteFeedView(datastore, model, table)
        view.create_table()
        return view
    from ledger.integration.feed_views_postgres import make_postgres_feed_view

    return make_postgres_feed_view(datastore, model, table)
