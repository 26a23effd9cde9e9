"""The seasonal rows held in memory by a process that reads them often.

A request for one product's or family's series sums over every order's row
(a row cannot be filtered by the SKUs it holds); loading all of them from
the store each time costs most of a second on a large store. The replica
loads them once, then before each use folds the log from the position it
stands at (usually nothing new: one query), so it is always at least as
current as the stored view, and equal to it where both have applied the
same events (the same fold).
"""

from __future__ import annotations

import threading
import weakref

from eventsourcing.persistence import Tracking

from ledger.projections.framework import Source, View, catch_up
from ledger.projections.seasonal import DemandRow
from ledger.projections.view_memory import MemoryView


class SeasonalReplica:
    """A ``MemoryView`` of the seasonal model, loaded from ``view`` once."""

    def __init__(self, view: View[DemandRow], source: Source) -> None:
        self._view, self._source = view, source
        self._memory: MemoryView[DemandRow] | None = None
        self._lock = threading.Lock()

    def current(self) -> View[DemandRow]:
        """The rows as of the log's head now."""
        with self._lock:
            if self._memory is None:
                self._memory = self._load()
            catch_up(self._memory, self._source)
            return self._memory

    def _load(self) -> MemoryView[DemandRow]:
        # The position first: rows read after it may hold later events, which
        # folding again leaves unchanged (a row skips events it has seen).
        position = self._view.max_tracking_id(self._source.name)
        memory: MemoryView[DemandRow] = MemoryView(self._view.model, self._view.table)
        rows = {row.order_id: row for row in self._view.select()}
        tracking = Tracking(self._source.name, position) if position else None
        memory.fill(rows, tracking)
        return memory


_replicas: weakref.WeakKeyDictionary[object, SeasonalReplica] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def seasonal_replica(view: View[DemandRow], source: Source) -> SeasonalReplica:
    """This process's replica of ``view`` (one per view)."""
    with _guard:
        replica = _replicas.get(view)
        if replica is None:
            replica = _replicas[view] = SeasonalReplica(view, source)
        return replica
