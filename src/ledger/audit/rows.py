"""What the audit reads of a store: rows of events and links, packed event
tuples, seals, and the protocols each backend's store and loader follow."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from ledger.audit.backup_format import TupleChain, event_tuple
from ledger.persistence.chain import originator_text

EventRow = tuple[str, int, str, bytes]  # order, version, topic, stored state
LinkRow = tuple[str, int, bytes]  # order, version, hash
# version, topic, state, link hash of one order: the event or its link may be missing (None).
Row = tuple[int, str | None, bytes | None, bytes | None]


_I4 = struct.Struct(">i")
_Q8 = struct.Struct(">q")


@dataclass(frozen=True)
class Packed:
    """One order's events as a backend's binary COPY handed them over, decoded on demand.

    ``tuples``: per event, in version order, ``int16 5 ‖ int32 16 ‖ uuid ‖
    int32 8 ‖ int64 version ‖ int32 n ‖ topic ‖ int32 n ‖ state ‖ int32 n ‖
    link hash`` (n = -1 and no hash when the event has no link). From offset
    26 to the end of the topic, then the state, it is exactly what the chain
    hashes after the previous hash and the order id. ``links``: (version,
    hash) of the order's links that have no event.
    """

    tuples: list[bytes]
    links: list[tuple[int, bytes]]

    def rows(self) -> list[Row]:
        """Events beside their links, by version, either one missing as ``None``."""
        rows: dict[int, Row] = {}
        for data in self.tuples:
            (version,) = _Q8.unpack_from(data, 26)
            (size,) = _I4.unpack_from(data, 34)
            topic_end = 38 + size
            (size,) = _I4.unpack_from(data, topic_end)
            state_end = topic_end + 4 + size
            (size,) = _I4.unpack_from(data, state_end)
            digest = data[state_end + 4 : state_end + 4 + size] if size >= 0 else None
            topic = data[38:topic_end].decode()
            rows[version] = (version, topic, data[topic_end + 4 : state_end], digest)
        for version, digest in self.links:
            rows.setdefault(version, (version, None, None, digest))
        return [row for _, row in sorted(rows.items())]


@dataclass(frozen=True, order=True)
class Seal:
    """A sealed chain head: the hash of ``order`` at ``version``, MAC'd with the key
    whose public id is ``key_id`` (``None`` on seals made before ids were kept)."""

    order: str
    version: int
    hash: bytes
    sealed_at: str
    mac: bytes
    key_id: str | None = None


class Snapshot(Protocol):
    """One consistent read of the store."""

    def events(self, order: str | None = None) -> Iterator[EventRow]: ...

    def links(self, order: str | None = None) -> Iterator[LinkRow]: ...

    def orders(self, order: str | None = None) -> Iterator[tuple[str, list[Row] | Packed]]:
        """Each order's events beside their links, in version order."""
        ...

    def seals(self, order: str | None = None) -> list[Seal]: ...


class AuditStore(Protocol):
    """What the audit needs from a backend beyond the library's recorder."""

    def snapshot(self) -> AbstractContextManager[Snapshot]: ...

    def add_seals(self, seals: list[Seal]) -> None: ...

    def heads(self) -> dict[str, tuple[int, bytes]]: ...


def merged(events: Iterator[EventRow], links: Iterator[LinkRow]) -> Iterator[tuple[str, Row]]:
    """Events and links side by side, both streams sorted by (order, version)."""
    e, k = next(events, None), next(links, None)
    while e is not None or k is not None:
        if k is None or (e is not None and (e[0], e[1]) < (k[0], k[1])):
            assert e is not None
            yield e[0], (e[1], e[2], e[3], None)
            e = next(events, None)
        elif e is None or (k[0], k[1]) < (e[0], e[1]):
            yield k[0], (k[1], None, None, k[2])
            k = next(links, None)
        else:
            yield e[0], (e[1], e[2], e[3], k[2])
            e, k = next(events, None), next(links, None)


def merged_orders(
    events: Iterator[EventRow], links: Iterator[LinkRow]
) -> Iterator[tuple[str, list[Row] | Packed]]:
    """``merged`` grouped by order: what ``Snapshot.orders`` yields."""
    for order, group in itertools.groupby(merged(events, links), key=lambda r: r[0]):
        yield order, [row for _, row in group]


class Loader(Protocol):
    """Side rows and event tuples out for a backup; both in for a restore."""

    def reading(self) -> AbstractContextManager[tuple[dict[str, list[list[Any]]], Iterator[bytes]]]:
        """The side rows and pages of event tuples (``backup_format``) in notification order."""
        ...

    def is_empty(self) -> bool: ...

    def load(
        self, chunks: Iterable[bytes], chain: TupleChain, side: dict[str, list[list[Any]]]
    ) -> int:
        """Every event tuple of ``chunks`` (``chain`` checks them as they pass and
        holds their links once they have), then the side rows, all or nothing."""
        ...


def notification_tuples(recorder: Any, page: int = 5000) -> Iterator[bytes]:
    """Pages of event tuples through the library's notification log."""
    start = 1
    while notes := recorder.select_notifications(start, page):
        yield b"".join(
            event_tuple(
                UUID(originator_text(n.originator_id)), n.originator_version, n.topic, n.state
            )
            for n in notes
        )
        start = notes[-1].id + 1
