"""In-memory recorder and factory (``memory://``), for tests and demos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing import popo as es_popo
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from ledger.persistence import chain
from ledger.persistence.records import (
    IdempotencyKeyConflict,
    IdempotencyRecord,
    idempotency_of,
)


class LedgerPOPORecorder(es_popo.POPOApplicationRecorder):
    """The library's in-memory recorder plus idempotency keys and order numbers.

    Everything happens under the recorder's database lock: side rows are
    checked before the events, and written only after the events passed
    their own uniqueness check, so a failed save leaves nothing behind.
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True

    def __init__(self) -> None:
        super().__init__()
        self._idempotency: dict[str, IdempotencyRecord] = {}
        self._order_numbers: dict[int, int] = {}
        # The audit tables: chain links, seals and customer keys by their keys.
        self.chain: dict[tuple[str, int], bytes] = {}
        # seals: (order, version) -> (hash, sealed_at, mac, key id)
        self.seals: dict[tuple[str, int], tuple[bytes, str, bytes, str | None]] = {}
        self.customer_keys: dict[str, tuple[bytes | None, str, str | None]] = {}

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            self._check_side_rows(**kwargs)
            notification_ids = super()._insert_events(stored_events, **kwargs)
            self._write_side_rows(**kwargs)
            if self.chain_enabled:
                previous = {
                    o: self.chain[(o, v)]
                    for o, v in chain.previous_wanted(stored_events)
                    if (o, v) in self.chain
                }
                for o, v, h in chain.chain_links(stored_events, previous):
                    self.chain[(o, v)] = h
            return notification_ids

    def _check_side_rows(self, **kwargs: Any) -> None:
        """Raise before anything is written; extend for more side tables."""
        record = idempotency_of(kwargs)
        if record is not None and record.key in self._idempotency:
            raise IdempotencyKeyConflict(record.key)

    def _write_side_rows(self, **kwargs: Any) -> None:
        """Write what ``_check_side_rows`` accepted; must not fail."""
        record = idempotency_of(kwargs)
        if record is not None:
            self._idempotency[record.key] = record

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        with self._database_lock:
            return self._idempotency.get(key)

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        with self._database_lock:
            number = self._order_numbers.get(year, 0) + count
            self._order_numbers[year] = number
            return number


class LedgerPOPOFactory(es_popo.POPOFactory):
    """Builds ``LedgerPOPORecorder`` as the application recorder."""

    application_recorder_class: type[LedgerPOPORecorder] = LedgerPOPORecorder

    def application_recorder(self) -> ApplicationRecorder:
        # The library's in-memory factory hard-codes its recorder class.
        return self.application_recorder_class()
