"""Order numbers in memory and in SQLite (PostgreSQL: ``pg_numbering``).

Each year counts from 1; ``allocate(year, count)`` takes the next ``count``
numbers at once and returns the last of them. A number is never handed out
twice, across threads and processes.
"""

from __future__ import annotations

import threading

from eventsourcing.sqlite import SQLiteDatastore

from ledger.persistence.records import ORDER_NUMBERS_TABLE


class MemoryOrderNumbers:
    """The last number of each year, under the in-memory store's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self.last: dict[int, int] = {}
        self._lock = lock

    def allocate(self, year: int, count: int = 1) -> int:
        with self._lock:
            number = self.last.get(year, 0) + count
            self.last[year] = number
            return number


class SQLiteOrderNumbers:
    """The ``ledger_order_numbers`` table in SQLite."""

    create_statements = (
        f"CREATE TABLE IF NOT EXISTS {ORDER_NUMBERS_TABLE} ("
        "year INTEGER PRIMARY KEY, "
        "last INTEGER NOT NULL)",
    )
    next_statement = (
        f"INSERT INTO {ORDER_NUMBERS_TABLE} (year, last) VALUES (?, ?) "
        "ON CONFLICT (year) DO UPDATE SET last = last + excluded.last "
        "RETURNING last"
    )

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def allocate(self, year: int, count: int = 1) -> int:
        # A write transaction: SQLite's single writer lock serialises
        # allocations across threads and processes.
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.next_statement, (year, count))
            # Fetch every row so the statement is finished before COMMIT.
            (row,) = c.fetchall()
        return int(row["last"])
