"""Side rows: the rows a save writes beside its events, in their transaction.

The application passes them as keyword arguments of ``Application.save``
(the library hands them untouched to ``recorder.insert_events``). Each side
table reads the keyword it knows, inserts its rows on the save's cursor
(before the events, so a reused key is reported as such even when the
version conflicts too) and names the error that a uniqueness violation on
it means. The recorders ask ``SideRows`` rather than each table, so another
side table is one more ``add`` (and its CREATE TABLE with the store's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

from eventsourcing.persistence import IntegrityError

Cursor = TypeVar("Cursor", contravariant=True)


class SideTable(Protocol[Cursor]):
    """One table of rows written with the events."""

    table: str

    def rows(self, kwargs: dict[str, Any]) -> Sequence[Any]:
        """The rows this save writes here (none if it brings no keyword for it)."""

    def insert(self, cursor: Cursor, rows: Sequence[Any]) -> None:
        """Insert the rows in the save's transaction."""

    def conflict(self, kwargs: dict[str, Any]) -> IntegrityError:
        """The error a uniqueness violation on this table means for the save."""

    def taken(self, kwargs: dict[str, Any]) -> bool:
        """Whether a row of this save is stored already (looked up afresh)."""


class SideRows(Generic[Cursor]):
    """Every side table of a recorder, asked together."""

    def __init__(self, *tables: SideTable[Cursor]) -> None:
        self.tables = list(tables)

    def add(self, table: SideTable[Cursor]) -> None:
        """One more side table (its own table must be created with the store's)."""
        self.tables.append(table)

    def wanted(self, kwargs: dict[str, Any]) -> bool:
        """Whether this save writes any side row."""
        return any(table.rows(kwargs) for table in self.tables)

    def insert(self, cursor: Cursor, kwargs: dict[str, Any]) -> None:
        for table in self.tables:
            rows = table.rows(kwargs)
            if rows:
                table.insert(cursor, rows)

    def conflict(self, table_name: str, kwargs: dict[str, Any]) -> IntegrityError | None:
        """The save's error for a uniqueness violation on ``table_name``, if a side table's."""
        for table in self.tables:
            if table.table == table_name:
                return table.conflict(kwargs)
        return None

    def taken(self, kwargs: dict[str, Any]) -> IntegrityError | None:
        """The save's error if one of its side rows is stored already."""
        for table in self.tables:
            if table.rows(kwargs) and table.taken(kwargs):
                return table.conflict(kwargs)
        return None
