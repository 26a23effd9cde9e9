"""Recorders that store idempotency keys and order numbers beside the events.

One module per backend (``popo``, ``sqlite``, ``postgres``), each holding
exactly one infrastructure factory so ``PERSISTENCE_MODULE`` may name the
module or the ``module:Class`` topic. Backend modules are not imported here,
so using SQLite never imports psycopg.
"""

from ledger.persistence.records import (
    IdempotencyKeyConflict,
    IdempotencyRecord,
    LedgerRecorder,
)

__all__ = ["IdempotencyKeyConflict", "IdempotencyRecord", "LedgerRecorder"]
