"""The seasonal rows and their monthly series, held in memory by a process
that reads them often.

A product's or family's series is a sum over every order's row (a row
cannot be filtered by the SKUs it holds); summing afresh on each request
is slow on a large store. The replica loads the rows once,
then before each use folds the log from the position it stands at (usually
nothing new: one query), so it is always at least as current as the stored
view and equal to it where both have applied the same events (the same
fold). The series of a dimension are summed once, when first asked for, and
kept current as rows change: the old row's contributions are taken away,
the new one's added (``seasonal_series.add``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping

from eventsourcing.persistence import Tracking

from ledger.projections.framework import Source, View, catch_up
from ledger.projections.seasonal import DemandRow
from ledger.projections.seasonal_series import Series, add, tally
from ledger.projections.view_memory import MemoryView


class _Rows(MemoryView[DemandRow]):
    """The replica's rows; every write also moves the series summed so far."""

    def __init__(self, view: View[DemandRow], sums: dict[str, dict[str, Series]]) -> None:
        super().__init__(view.model, view.table)
        self.sums = sums

    def write(
        self,
        changes: Mapping[str, DemandRow | None],
        tracking: Tracking | None,
        expected: int | None,
    ) -> None:
        before = self.rows(changes)
        super().write(changes, tracking, expected)
        for by, found in self.sums.items():
            for key, row in changes.items():
                old = before.get(key)
                if old is not None and old.counted:
                    add(found, old, by, -1, shared=True)
                if row is not None and row.counted:
                    add(found, row, by, 1, shared=True)


class SeasonalReplica:
    """The seasonal model's rows in memory (loaded from ``view`` once) and the
    series summed from them; a ``SeriesSource``."""

    def __init__(self, view: View[DemandRow], source: Source) -> None:
        self._view, self._source = view, source
        self._rows: _Rows | None = None
        self._sums: dict[str, dict[str, Series]] = {}
        self._lock = threading.Lock()

    def current(self) -> View[DemandRow]:
        """The rows as of the log's head now."""
        with self._lock:
            return self._caught_up()

    def series(self, by: str, key: str | None = None) -> dict[str, Series]:
        """The series of ``by`` (only ``key``'s if given) as of now. They are
        the replica's own: read them, never change them (it replaces a series
        it changes, so one already handed out stays as it was)."""
        with self._lock:
            rows = self._caught_up()
            if by not in self._sums:
                self._sums[by] = tally(rows.select([("status", "=", "open")]), by)
            found = self._sums[by]
            return dict(found) if key is None else {key: found[key]} if key in found else {}

    def _caught_up(self) -> _Rows:
        if self._rows is None:
            self._rows = self._load()
        catch_up(self._rows, self._source)
        return self._rows

    def _load(self) -> _Rows:
        # The position first: rows read after it may hold later events, which
        # folding again leaves unchanged (a row skips events it has seen).
        position = self._view.max_tracking_id(self._source.name)
        rows = _Rows(self._view, self._sums)
        tracking = Tracking(self._source.name, position) if position else None
        rows.fill({row.order_id: row for row in self._view.select()}, tracking)
        return rows


_replicas: weakref.WeakKeyDictionary[object, SeasonalReplica] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def seasonal_replica(view: View[DemandRow], source: Source) -> SeasonalReplica:
    """This process's replica of ``view`` (one per view)."""
    with _guard:
        replica = _replicas.get(view)
        if replica is None:
            replica = _replicas[view] = SeasonalReplica(view, source)
        return replica
