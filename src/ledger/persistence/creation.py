"""Creating tables when several processes start on an empty database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import PersistenceError

T = TypeVar("T")


def create_racing(
    create: Callable[[], T],
    attempts: int = 5,
    errors: tuple[type[Exception], ...] = (PersistenceError,),
) -> T:
    """``create()``, tried again after a short pause when it fails.

    Processes starting together (uvicorn workers, `ledger project`) create
    the same schema, types and tables at the same moment, and CREATE ... IF
    NOT EXISTS is not safe against a concurrent creator: the loser's
    statement fails (a duplicate type, a first row already there). Once the
    winner's are committed, trying again finds them in place."""
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except errors:
            if attempt == attempts:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
