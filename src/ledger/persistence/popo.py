"""In-memory recorder and factory (``memory://``), for tests and demos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing import popo as es_popo
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from ledger.persistence.chain_rows import MemoryChain
from ledger.persistence.idempotency import MemoryIdempotency
from ledger.persistence.numbering import MemoryOrderNumbers
from ledger.persistence.records import IdempotencyRecord


class LedgerPOPORecorder(es_popo.POPOApplicationRecorder):
    """The library's in-memory recorder plus idempotency keys, order numbers
    and the hash chain, composed of one part each.

    Everything happens under the recorder's database lock: side rows are
    checked before the events, and written only after the events passed
    their own uniqueness check, so a failed save leaves nothing behind.
    """

    # The bench turns this off on one instance to measure what the chain costs.
    chain_enabled = True
    # One writer at a time: a bulk writer's second thread only prepares the
    # next save while the first writes.
    concurrent_saves = 2

    def __init__(self) -> None:
        super().__init__()
        self.idempotency = MemoryIdempotency(self._database_lock)
        self.order_numbers = MemoryOrderNumbers(self._database_lock)
        self.hash_chain = MemoryChain(self._database_lock)
        # The parts' dictionaries under the names the audit tools read and
        # restore (the audit tables of a store).
        self._idempotency = self.idempotency.records
        self._order_numbers = self.order_numbers.last
        self.chain = self.hash_chain.links
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
                self.hash_chain.write(stored_events)
            return notification_ids

    def _check_side_rows(self, **kwargs: Any) -> None:
        """Raise before anything is written; extend for more side tables."""
        self.idempotency.check(kwargs)

    def _write_side_rows(self, **kwargs: Any) -> None:
        """Write what ``_check_side_rows`` accepted; must not fail."""
        self.idempotency.write(kwargs)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self.idempotency.find(key)

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        return self.order_numbers.allocate(year, count)


class LedgerPOPOFactory(es_popo.POPOFactory):
    """Builds ``LedgerPOPORecorder`` as the application recorder."""

    application_recorder_class: type[LedgerPOPORecorder] = LedgerPOPORecorder

    def application_recorder(self) -> ApplicationRecorder:
        # The library's in-memory factory hard-codes its recorder class.
        return self.application_recorder_class()
