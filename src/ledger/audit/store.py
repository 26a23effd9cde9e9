"""Reading the events, the chain and the seals of each backend, in one snapshot.

``open_store(ledger)`` returns the backend's ``AuditStore``. Streams are
sorted by (order id as canonical UUID text, version): the text order of a
UUID equals its byte order, so the SQLite (hex) and PostgreSQL (uuid)
indexes deliver rows in that order without sorting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ledger.audit.backup_format import BATCH, TupleChain, stored_events
from ledger.audit.rows import (
    AuditStore,
    EventRow,
    LinkRow,
    Loader,
    Packed,
    Row,
    Seal,
    Snapshot,
    merged_orders,
    notification_tuples,
)
from ledger.audit.side_rows import read_memory_side, write_memory_side
from ledger.audit.store_sqlite import SQLiteAuditStore, SQLiteLoader
from ledger.persistence.chain import originator_text


def open_store(ledger: Any) -> AuditStore:
    """The audit store of the ledger's backend."""
    recorder = ledger.recorder
    kind = type(getattr(ledger.factory, "datastore", None)).__name__
    if kind == "SQLiteDatastore":
        return SQLiteAuditStore(recorder)
    if kind == "PostgresDatastore":
        # Imported here so that an embedded or in-memory store never loads psycopg.
        from ledger.audit.store_postgres import PostgresAuditStore

        return PostgresAuditStore(recorder)
    return MemoryAuditStore(recorder)


class MemoryAuditStore:
    """The in-memory recorder's dictionaries, read under its lock."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def snapshot(self) -> AbstractContextManager[Snapshot]:
        return _MemorySnapshot(self.recorder)

    def add_seals(self, seals: list[Seal]) -> None:
        with self.recorder._database_lock:
            for s in seals:
                self.recorder.seals[(s.order, s.version)] = (s.hash, s.sealed_at, s.mac, s.key_id)

    def heads(self) -> dict[str, tuple[int, bytes]]:
        with self.recorder._database_lock:
            heads: dict[str, tuple[int, bytes]] = {}
            for (order, version), digest in self.recorder.chain.items():
                if version > heads.get(order, (0, b""))[0]:
                    heads[order] = (version, digest)
            return heads


class _MemorySnapshot:
    def __init__(self, recorder: Any) -> None:
        with recorder._database_lock:
            self._events = sorted(
                (originator_text(e.originator_id), e.originator_version, e.topic, e.state)
                for e in recorder._stored_events
            )
            self._links = sorted((o, v, h) for (o, v), h in recorder.chain.items())
            self._seals = sorted(Seal(o, v, *row) for (o, v), row in recorder.seals.items())

    def __enter__(self) -> _MemorySnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def events(self, order: str | None = None) -> Iterator[EventRow]:
        return (row for row in self._events if order is None or row[0] == order)

    def links(self, order: str | None = None) -> Iterator[LinkRow]:
        return (row for row in self._links if order is None or row[0] == order)

    def orders(self, order: str | None = None) -> Iterator[tuple[str, list[Row] | Packed]]:
        return merged_orders(self.events(order), self.links(order))

    def seals(self, order: str | None = None) -> list[Seal]:
        return [s for s in self._seals if order is None or s.order == order]


def open_loader(ledger: Any) -> Loader:
    kind = type(getattr(ledger.factory, "datastore", None)).__name__
    if kind == "SQLiteDatastore":
        return SQLiteLoader(ledger.recorder)
    if kind == "PostgresDatastore":
        # As above: psycopg only for a PostgreSQL store.
        from ledger.audit.store_postgres import PostgresLoader

        return PostgresLoader(ledger.recorder)
    return MemoryLoader(ledger.recorder)


class MemoryLoader:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    @contextmanager
    def reading(self) -> Iterator[tuple[dict[str, list[list[Any]]], Iterator[bytes]]]:
        yield read_memory_side(self.recorder), notification_tuples(self.recorder)

    def is_empty(self) -> bool:
        return not self.recorder._stored_events and not self.recorder._order_numbers

    def load(
        self, chunks: Iterable[bytes], chain: TupleChain, side: dict[str, list[list[Any]]]
    ) -> int:
        events = [e for chunk in chunks for e in stored_events(chunk)]  # all checked first
        for start in range(0, len(events), BATCH):
            self.recorder.insert_events(events[start : start + BATCH])
        write_memory_side(self.recorder, side)
        return len(events)
