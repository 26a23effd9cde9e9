"""The in-memory view (``memory://``): rows in a dict, under the recorder's lock."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.popo import POPOTrackingRecorder

from ledger.projections.framework import Filter, R, ReadModel, View

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda value, options: value in options,
}


class MemoryView(POPOTrackingRecorder, Generic[R]):
    """A read model held in memory; rows and position change under one lock."""

    def __init__(self, model: ReadModel[R], table: str = "") -> None:
        super().__init__()
        self.model = model
        self.table = table or f"view_{model.name}"
        self._rows: dict[str, tuple[dict[str, Any], R]] = {}

    def rows(self, keys: Iterable[str]) -> dict[str, R]:
        with self._database_lock:
            return {k: self._rows[k][1] for k in keys if k in self._rows}

    def write(
        self, changes: Mapping[str, R | None], tracking: Tracking | None, expected: int | None
    ) -> None:
        with self._database_lock:
            if tracking is not None:  # None: a part of a split fill (see ``View.fill``)
                if self._max_tracking_ids[tracking.application_name] != expected:
                    raise IntegrityError(f"{self.table} moved past {expected}")
                self._assert_tracking_uniqueness(tracking)
            for key, row in changes.items():
                if row is None:
                    self._rows.pop(key, None)
                else:
                    self._rows[key] = ({"key": key, **self.model.record(row)}, row)
            if tracking is not None:
                self._insert_tracking(tracking)

    def fill(self, rows: Mapping[str, R], tracking: Tracking | None) -> None:
        self.write(rows, tracking, expected=None)

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[R]:
        self.model.check_filters(filters, order_by)
        found = self._matching(filters)
        found.sort(key=lambda item: (*(_sortable(item[0][c]) for c in order_by), item[0]["key"]))
        end = None if limit is None else offset + limit
        return [row for _, row in found[offset:end]]

    def count(self, filters: Sequence[Filter] = ()) -> int:
        self.model.check_filters(filters)
        return len(self._matching(filters))

    def _matching(self, filters: Sequence[Filter]) -> list[tuple[dict[str, Any], R]]:
        with self._database_lock:
            items = list(self._rows.values())
        return [
            item
            for item in items
            if all(item[0][c] is not None and _TESTS[op](item[0][c], v) for c, op, v in filters)
        ]

    def shadow(self) -> View[R]:
        return type(self)(self.model, f"{self.table}__shadow")

    def swap_in(self, shadow: View[R]) -> None:
        assert isinstance(shadow, MemoryView)
        with self._database_lock, shadow._database_lock:
            self._rows = dict(shadow._rows)
            self._max_tracking_ids.clear()
            self._max_tracking_ids.update(shadow._max_tracking_ids)


def _sortable(value: Any) -> tuple[bool, Any]:
    # SQL sorts NULLs last in ascending order on PostgreSQL; do the same.
    return (value is None, value if value is not None else 0)
