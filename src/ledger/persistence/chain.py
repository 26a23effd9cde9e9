"""The hash chain written beside the events, in the same transaction.

Each stored event gets one ``ledger_chain`` row (originator, version, hash)
where ``hash = sha256(prev_hash ‖ originator ‖ version ‖ topic ‖ state)``
over the event's *stored* bytes (after compression and encryption), and
``prev_hash`` is the row of the previous version (32 zero bytes before
version 1). The recorders read every previous hash of a batch in one query
inside the insert transaction, then add the rows with the events.

This module is pure: the recorders own the SQL; ``ledger.audit`` verifies.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

CHAIN_TABLE = "ledger_chain"
SEALS_TABLE = "ledger_seals"
CUSTOMER_KEYS_TABLE = "ledger_customer_keys"
GENESIS = bytes(32)

# A chain link as stored: (originator id as text, version, hash).
Link = tuple[str, int, bytes]


def originator_text(originator_id: UUID | str) -> str:
    """The originator id as the chain covers it: the canonical UUID string."""
    return str(originator_id) if isinstance(originator_id, UUID) else str(UUID(originator_id))


@lru_cache(maxsize=8192)
def _framed(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">I", len(data)) + data


def link_hash(prev: bytes, originator: str, version: int, topic: str, state: bytes) -> bytes:
    """The hash of one event; fields are length-framed so none can bleed into another."""
    digest = hashlib.sha256(prev)
    digest.update(_framed(originator))
    digest.update(struct.pack(">q", version))
    digest.update(_framed(topic))
    digest.update(state)
    return digest.digest()


def previous_wanted(stored_events: Sequence[StoredEvent]) -> list[tuple[str, int]]:
    """(originator, version) of each previous link the batch needs from the store."""
    first: dict[str, int] = {}
    for event in stored_events:
        key = originator_text(event.originator_id)
        first[key] = min(first.get(key, event.originator_version), event.originator_version)
    return [(key, version - 1) for key, version in first.items() if version > 1]


def chain_links(stored_events: Sequence[StoredEvent], previous: Mapping[str, bytes]) -> list[Link]:
    """The batch's links, given the stored hash before each originator's first event.

    A missing previous row (a store written before the chain existed) links
    to the genesis hash; verification then reports the gap.
    """
    heads = dict(previous)
    links: list[Link] = []
    for event in sorted(stored_events, key=lambda e: e.originator_version):
        key = originator_text(event.originator_id)
        digest = link_hash(
            heads.get(key, GENESIS), key, event.originator_version, event.topic, event.state
        )
        heads[key] = digest
        links.append((key, event.originator_version, digest))
    return links


def previous_map(rows: Iterable[Any]) -> dict[str, bytes]:
    """``{originator: hash}`` from rows with ``originator_id`` and ``hash`` columns."""
    return {originator_text(row["originator_id"]): bytes(row["hash"]) for row in rows}


class RecentLinks:
    """The newest committed link per originator, kept by the writing process.

    Links are staged while a transaction runs (per thread) and become known
    only after its commit, so a hit is always a committed, immutable link.
    """

    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self._heads: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._staged = threading.local()
        self._lock = threading.Lock()

    def known(self, wanted: Sequence[tuple[str, int]]) -> dict[str, bytes]:
        return {o: h for (o, _), h in self.known_at(wanted).items()}

    def known_at(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        """The wanted (originator, version) links that are known, by both."""
        with self._lock:
            heads = {o: self._heads.get(o) for o, _ in wanted}
        return {(o, v): h[1] for (o, v) in wanted if (h := heads[o]) is not None and h[0] == v}

    def stage(self, links: Sequence[Link]) -> None:
        self._staged.links = list(links)

    def discard_staged(self) -> None:
        self._staged.links = []

    def commit_staged(self) -> None:
        links: list[Link] = getattr(self._staged, "links", [])
        self._staged.links = []
        self.remember(links)

    def remember(self, links: Sequence[Link]) -> None:
        """Links just committed (by this thread, e.g. a group commit)."""
        with self._lock:
            for originator, version, digest in links:
                self._heads[originator] = (version, digest)
                self._heads.move_to_end(originator)
            while len(self._heads) > self.size:
                self._heads.popitem(last=False)
