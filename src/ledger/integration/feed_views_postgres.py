"""The feed's read model in PostgreSQL (see ``feed_views``): rows added by
``COPY``, a page read by one indexed range scan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed

from ledger.integration.feed_kept import Kept
from ledger.integration.feed_views import COLUMNS, items_query, row_values
from ledger.persistence.creation import create_racing
from ledger.projections import sqltext
from ledger.projections.framework import Filter, ReadModel
from ledger.projections.view_postgres import PostgresView


class PostgresFeedView(PostgresView[Any]):
    """The feed's rows in the PostgreSQL store."""

    renamed_indexes = ("order",)

    def __init__(
        self, datastore: PostgresDatastore, model: ReadModel[Any], table: str = ""
    ) -> None:
        super().__init__(datastore, model, table)
        self.sql_create_statements[1] = Composed([SQL(
            f"CREATE TABLE IF NOT EXISTS {self.qualified} (position bigint PRIMARY KEY, "
            "type text NOT NULL, order_id text NOT NULL, item text NOT NULL, sealed text)"
        )])  # fmt: skip
        self.sql_create_statements.insert(2, Composed([SQL(
            f'CREATE INDEX IF NOT EXISTS "{self.table}_order" '
            f"ON {self.qualified} (order_id, position)"
        )]))  # fmt: skip
        self._copy = f"COPY {self.qualified} ({COLUMNS}) FROM STDIN"

    def rows_in(self, curs: Cursor[DictRow], keys: Iterable[str]) -> dict[str, Any]:
        wanted = [int(key) for key in keys]
        curs.execute(f"SELECT {COLUMNS} FROM {self.qualified} WHERE position = ANY(%s)", (wanted,))
        return {str(r["position"]): self._row(r) for r in curs.fetchall()}

    def _row(self, record: DictRow) -> Any:
        return self.model.load(orjson.dumps([record[c] for c in COLUMNS.split(", ")]).decode())

    def write_in(
        self,
        curs: Cursor[DictRow],
        changes: Mapping[str, Any],
        tracking: Tracking,
        expected: int | None,
    ) -> None:
        self._require_position(curs, tracking.application_name, expected)
        self._copy_rows(curs, changes.values())
        self._insert_tracking(curs, tracking)

    def fill(self, rows: Mapping[str, Any], tracking: Tracking | None) -> None:
        with self.write_transaction() as curs:
            if tracking is not None:
                self._require_position(curs, tracking.application_name, None)
            self._copy_rows(curs, rows.values())
            if tracking is not None:
                self._insert_tracking(curs, tracking)

    def _copy_rows(self, curs: Cursor[DictRow], rows: Iterable[Any]) -> None:
        with curs.copy(self._copy) as copy:
            for row in rows:
                if row is not None:
                    copy.write_row(row_values(row))

    def items(
        self, after: int, limit: int, bound: int, types: Sequence[str], orders: Sequence[str]
    ) -> list[Kept]:
        statement, params = items_query(self.qualified, types, orders, "%s")
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, [after, bound, *params, limit])
            return curs.fetchall()

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        self.model.check_filters(filters, order_by)
        clause, params = sqltext.where(filters, sqltext.POSTGRES)
        statement = f"SELECT {COLUMNS} FROM {self.qualified}{clause} ORDER BY position"
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        statement += f" OFFSET {int(offset)}"
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [self._row(r) for r in curs.fetchall()]


def make_postgres_feed_view(
    datastore: Any, model: ReadModel[Any], table: str = ""
) -> PostgresFeedView:
    view = PostgresFeedView(datastore, model, table)
    create_racing(view.create_table)
    return view
