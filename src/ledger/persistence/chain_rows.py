"""The hash chain's rows in memory and in SQLite (PostgreSQL: ``pg_chain``).

What a link is and how it is computed is ``chain``; these parts read the
previous links a save needs and write its links, in the save's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteCursor

from ledger.persistence import chain


class MemoryChain:
    """Links by (originator, version), under the in-memory store's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self.links: dict[tuple[str, int], bytes] = {}
        self._lock = lock

    def write(self, stored_events: Sequence[StoredEvent]) -> None:
        with self._lock:
            previous = {
                o: self.links[(o, v)]
                for o, v in chain.previous_wanted(stored_events)
                if (o, v) in self.links
            }
            for o, v, h in chain.chain_links(stored_events, previous):
                self.links[(o, v)] = h


class SQLiteChain:
    """The ``ledger_chain`` table in SQLite.

    Ids are stored as the events table stores them (hex), so the two join.
    """

    create_statements = (
        f"CREATE TABLE IF NOT EXISTS {chain.CHAIN_TABLE} ("
        "originator_id TEXT NOT NULL, version INTEGER NOT NULL, hash BLOB NOT NULL, "
        "PRIMARY KEY (originator_id, version)) WITHOUT ROWID",
    )
    insert_statement = (
        f"INSERT INTO {chain.CHAIN_TABLE} (originator_id, version, hash) VALUES (?, ?, ?)"
    )

    def write(self, cursor: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> None:
        """The save's links, the previous hashes read in one query on ``cursor``."""
        links = chain.chain_links(stored_events, self._previous(cursor, stored_events))
        cursor.executemany(self.insert_statement, [(UUID(o).hex, v, h) for o, v, h in links])

    def _previous(
        self, cursor: SQLiteCursor, stored_events: Sequence[StoredEvent]
    ) -> dict[str, bytes]:
        wanted = [(UUID(o).hex, v) for o, v in chain.previous_wanted(stored_events)]
        if not wanted:
            return {}
        marks = ", ".join("(?, ?)" for _ in wanted)
        cursor.execute(
            f"SELECT originator_id, hash FROM {chain.CHAIN_TABLE} "
            f"WHERE (originator_id, version) IN (VALUES {marks})",
            [value for pair in wanted for value in pair],
        )
        return chain.previous_map(cursor.fetchall())
