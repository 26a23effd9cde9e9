"""Who records an event, when, and why: set by the application around a
command, read only when an event is triggered (never on replay)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Stamp:
    """The recording time and the metadata given to every event of a command.

    ``meta`` holds actor, correlation_id, causation_id, reason and, when the
    business time differs from the recording time, occurred_at (ISO 8601).
    """

    at: datetime
    meta: Mapping[str, Any] = field(default_factory=dict)


_current: ContextVar[Stamp | None] = ContextVar("ledger_stamp", default=None)


@contextmanager
def stamped(stamp: Stamp) -> Iterator[Stamp]:
    """Give every event triggered inside the block this time and metadata."""
    token = _current.set(stamp)
    try:
        yield stamp
    finally:
        _current.reset(token)


def current_stamp() -> Stamp:
    """The active stamp, or the system clock with no metadata."""
    stamp = _current.get()
    return stamp if stamp is not None else Stamp(datetime.now(UTC), {})
