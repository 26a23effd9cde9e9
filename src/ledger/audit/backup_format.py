"""The backup file: a tar of the gzip'd events, the side rows and a sealed manifest
(counts, sha256 per member, chain heads and seals, HMAC).

``events.pgcopy.gz``: every stored event in notification order, each as one
tuple of PostgreSQL's binary COPY format (without the file header and
trailer): ``int16 4 ‖ int32 16 ‖ uuid ‖ int32 8 ‖ int64 version ‖ int32 n ‖
topic ‖ int32 n ‖ state``. A restore into PostgreSQL streams these bytes
straight into ``COPY ... FROM STDIN (FORMAT BINARY)``; and the chain hashes
``version ‖ framed topic ‖ state`` as they lie, so nothing is decoded.
``side.json.gz``: order-number counters, idempotency keys, customer keys, seals.
``manifest.json``: read first by ``restore``, which checks everything it
states before committing anything; ``sizes`` (the members' uncompressed
bytes) bound what a restore decompresses.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.persistence.chain import GENESIS, _framed

FORMAT = "ledger-backup/3"  # /3 adds the key's id, the members' sizes and seals' key ids
READABLE_FORMATS = ("ledger-backup/2", FORMAT)
EVENTS = "events.pgcopy.gz"
SIDE = "side.json.gz"
MANIFEST = "manifest.json"
BATCH = 1000

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_EVENT_START = struct.pack(">hi", 4, 16)  # four fields, the first a 16-byte uuid
_LINK_START = struct.pack(">hi", 3, 16)
_EIGHT = struct.pack(">i", 8)
_HASH_SIZE = struct.pack(">i", len(GENESIS))
_I4 = struct.Struct(">i")
_Q8 = struct.Struct(">q")


class BackupRefused(Exception):
    """A restore that would be unsafe: non-empty target, corrupt file, bad seals."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def event_tuple(originator: UUID, version: int, topic: str, state: bytes) -> bytes:
    """One stored event as a binary COPY tuple of the events table."""
    name = topic.encode()
    return b"".join(
        (
            _EVENT_START,
            originator.bytes,
            _EIGHT,
            _Q8.pack(version),
            _I4.pack(len(name)),
            name,
            _I4.pack(len(state)),
            state,
        )
    )


def stored_events(data: bytes) -> list[StoredEvent]:
    """The events of whole tuples (what ``TupleChain.feed`` passed)."""
    events: list[StoredEvent] = []
    pos, end = 0, len(data)
    while pos < end:
        (size,) = _I4.unpack_from(data, pos + 34)
        topic_end = pos + 38 + size
        (size,) = _I4.unpack_from(data, topic_end)
        stop = topic_end + 4 + size
        events.append(
            StoredEvent(
                UUID(bytes=data[pos + 6 : pos + 22]),
                _Q8.unpack_from(data, pos + 26)[0],
                data[pos + 38 : topic_end].decode(),
                data[topic_end + 4 : stop],
            )
        )
        pos = stop
    return events


class TupleChain:
    """Every order's chain recomputed over event tuples, as they stream past.

    ``sealed`` maps (order, version) to a sealed hash each event must match;
    with ``links`` the chain table's rows are kept as binary COPY tuples.
    """

    def __init__(self, sealed: dict[tuple[str, int], bytes] | None = None, links: bool = False):
        self.heads: dict[bytes, list[Any]] = {}  # uuid -> [text, framed text, version, hash]
        self.count = 0
        self.sealed = sealed or {}
        self.links: bytearray | None = bytearray() if links else None

    def feed(self, data: bytes) -> int:
        """Hash every whole tuple at the start of ``data``; returns the bytes they span."""
        sha256, length, heads, sealed = hashlib.sha256, _I4.unpack_from, self.heads, self.sealed
        links = self.links
        pos, end, count = 0, len(data), 0
        while pos + 38 <= end:
            (size,) = length(data, pos + 34)
            topic_end = pos + 38 + size
            if topic_end + 4 > end:
                break
            (size,) = length(data, topic_end)
            stop = topic_end + 4 + size
            if stop > end:
                break
            if data[pos : pos + 6] != _EVENT_START or data[pos + 22 : pos + 26] != _EIGHT:
                raise ValueError(f"event {self.count + count + 1} is not a stored event")
            oid = data[pos + 6 : pos + 22]
            head = heads.get(oid)
            if head is None:
                text = str(UUID(bytes=oid))
                head = heads[oid] = [text, _framed(text), 0, GENESIS]
            stamp = data[pos + 26 : pos + 34]
            digest = sha256(
                b"".join(
                    (
                        head[3],
                        head[1],
                        stamp,
                        data[pos + 34 : topic_end],
                        data[topic_end + 4 : stop],
                    )
                )
            ).digest()
            head[2], head[3] = _Q8.unpack_from(stamp)[0], digest
            if sealed and sealed.get((head[0], head[2]), digest) != digest:
                raise ValueError(f"order {head[0]} version {head[2]} differs from its seal")
            if links is not None:
                links += b"".join((_LINK_START, oid, _EIGHT, stamp, _HASH_SIZE, digest))
            pos = stop
            count += 1
        self.count += count
        return pos

    def order_heads(self) -> dict[str, tuple[int, bytes]]:
        """Each order's last version and hash."""
        return {text: (version, digest) for text, _, version, digest in self.heads.values()}
