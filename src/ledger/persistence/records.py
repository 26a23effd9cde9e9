"""Rows the ledger writes beside its events, and the recorder protocol.

The application saves aggregates with ``Application.save(*aggs, **kwargs)``;
the library passes ``kwargs`` untouched through ``EventStore.put`` to
``recorder.insert_events``. The ledger's recorders read the keyword
arguments they know (``idempotency=...``) and write those rows in the same
transaction as the events, so either all of them are stored or none is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry

IDEMPOTENCY_TABLE = "ledger_idempotency"
# The fingerprint of a command on an order whose customer's personal data
# was erased: its digest covered that data, so it is gone too.
ERASED_FINGERPRINT = "erased"
ORDER_NUMBERS_TABLE = "ledger_order_numbers"

# The store is away (the library's retries are for these; the API answers 503).
TRANSIENT: tuple[type[Exception], ...] = (InterfaceError, OperationalError)

P = ParamSpec("P")
R = TypeVar("R")


def retried(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` tried again while the store is away, as the library's own
    statements are (its ``retry``, typed)."""
    wrapped: Callable[P, R] = retry(TRANSIENT, max_attempts=10, wait=0.2)(func)
    return wrapped


@dataclass(frozen=True)
class IdempotencyRecord:
    """What a command with an ``Idempotency-Key`` produced.

    ``order_id`` and ``version`` name the order state that answers a repeat
    of the command; ``fingerprint`` tells a true repeat (same command and
    body) from a reuse of the key with another body.
    """

    key: str
    fingerprint: str
    order_id: str
    version: int
    recorded_at: datetime

    def __post_init__(self) -> None:
        # A naive time would be read back shifted by the database's zone.
        if self.recorded_at.tzinfo is None:
            msg = "IdempotencyRecord.recorded_at must be timezone-aware"
            raise ValueError(msg)


class IdempotencyKeyConflict(IntegrityError):
    """The idempotency key was already recorded; no event was written.

    A subclass of the library's ``IntegrityError`` so code that only
    handles version conflicts still treats it as a failed save, while the
    application can tell a repeated key (answer with the first result) from
    a version conflict (reload and retry).
    """

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency key already recorded: {key!r}")
        self.key = key


def idempotency_of(kwargs: dict[str, Any]) -> IdempotencyRecord | None:
    """The ``idempotency`` keyword argument of a save, type-checked."""
    record = kwargs.get("idempotency")
    if record is not None and not isinstance(record, IdempotencyRecord):
        msg = f"idempotency must be an IdempotencyRecord, not {type(record).__name__}"
        raise TypeError(msg)
    return record


@runtime_checkable
class LedgerRecorder(Protocol):
    """What the application needs from its recorder beyond the library's."""

    # How many saves a bulk writer (the import) is worth sending at once: on
    # PostgreSQL concurrent saves share a group-commit transaction; SQLite
    # and memory write one at a time, where more threads only queue longer.
    concurrent_saves: int

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        """Store events and side rows atomically; raise ``IntegrityError`` on conflict."""

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The record stored under ``key``, if any."""

    def allocate_order_number(self, year: int, count: int = 1) -> int:
        """Take the next ``count`` order numbers of ``year`` (1, 2, 3, ... never
        repeated) and return the last of them."""
