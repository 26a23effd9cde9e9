"""Where event times come from: the system clock, or a simulated one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Production time: UTC now."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Time that moves only when told to, for tests and `ledger demo`.

    Each reading advances by ``tick`` so events keep a strict order.
    """

    def __init__(self, start: datetime, tick: timedelta = timedelta(milliseconds=1)) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)
        self._tick = tick
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._now += self._tick
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
