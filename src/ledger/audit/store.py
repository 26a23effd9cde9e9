"""Reading the events, the chain and the seals of each backend, in one snapshot.

``open_store(ledger)`` returns the backend's ``AuditStore``. Streams are
sorted by (order id as canonical UUID text, version): the text order of a
UUID equals its byte order, so the SQLite (hex) and PostgreSQL (uuid)
indexes deliver rows in that order without sorting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent

from ledger.persistence.chain import originator_text

EventRow = tuple[str, int, str, bytes]  # order, version, topic, stored state
LinkRow = tuple[str, int, bytes]  # order, version, hash


@dataclass(frozen=True, order=True)
class Seal:
    """A sealed chain head: the hash of ``order`` at ``version``, MAC'd with the key."""

    order: str
    version: int
    hash: bytes
    sealed_at: str
    mac: bytes


class Snapshot(Protocol):
    """One consistent read of the store."""

    def events(self, order: str | None = None) -> Iterator[EventRow]: ...

    def links(self, order: str | None = None) -> Iterator[LinkRow]: ...

    def seals(self, order: str | None = None) -> list[Seal]: ...


class AuditStore(Protocol):
    """What the audit needs from a backend beyond the library's recorder."""

    def snapshot(self) -> AbstractContextManager[Snapshot]: ...

    def add_seals(self, seals: list[Seal]) -> None: ...

    def heads(self) -> dict[str, tuple[int, bytes]]: ...


def open_store(ledger: Any) -> AuditStore:
    """The audit store of the ledger's backend."""
    recorder = ledger.recorder
    kind = type(getattr(ledger.factory, "datastore", None)).__name__
    if kind == "SQLiteDatastore":
        from ledger.audit.store_sqlite import SQLiteAuditStore

        return SQLiteAuditStore(recorder)
    if kind == "PostgresDatastore":
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
                self.recorder.seals[(s.order, s.version)] = (s.hash, s.sealed_at, s.mac)

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
            self._seals = sorted(
                Seal(o, v, h, at, m) for (o, v), (h, at, m) in recorder.seals.items()
            )

    def __enter__(self) -> _MemorySnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def events(self, order: str | None = None) -> Iterator[EventRow]:
        return (row for row in self._events if order is None or row[0] == order)

    def links(self, order: str | None = None) -> Iterator[LinkRow]:
        return (row for row in self._links if order is None or row[0] == order)

    def seals(self, order: str | None = None) -> list[Seal]:
        return [s for s in self._seals if order is None or s.order == order]


class Loader(Protocol):
    """Side rows out for a backup; events and side rows in for a restore."""

    def read_side(self) -> dict[str, list[list[Any]]]: ...

    def is_empty(self) -> bool: ...

    def load(
        self, batches: Iterable[list[StoredEvent]], side: dict[str, list[list[Any]]]
    ) -> int: ...


def open_loader(ledger: Any) -> Loader:
    kind = type(getattr(ledger.factory, "datastore", None)).__name__
    if kind == "SQLiteDatastore":
        from ledger.audit.store_sqlite import SQLiteLoader

        return SQLiteLoader(ledger.recorder)
    if kind == "PostgresDatastore":
        from ledger.audit.store_postgres import PostgresLoader

        return PostgresLoader(ledger.recorder)
    return MemoryLoader(ledger.recorder)


class MemoryLoader:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def read_side(self) -> dict[str, list[list[Any]]]:
        from ledger.audit.side_rows import read_memory_side

        return read_memory_side(self.recorder)

    def is_empty(self) -> bool:
        return not self.recorder._stored_events and not self.recorder._order_numbers

    def load(self, batches: Iterable[list[StoredEvent]], side: dict[str, list[list[Any]]]) -> int:
        from ledger.audit.side_rows import write_memory_side

        count = 0
        for batch in batches:
            self.recorder.insert_events(batch)
            count += len(batch)
        write_memory_side(self.recorder, side)
        return count
