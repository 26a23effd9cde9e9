"""Tables the worker writes itself rather than folds from events: the alert
list and the rebuild log.

They reuse the views (one table per backend, filters, paging, atomic
writes) with plain JSON rows. Their "tracking position" is a write counter,
not a log position: each write names the counter it read, so two processes
writing at once cannot both win; the loser reads again and retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from ledger.projections.framework import Column, ReadModel, View

Row = dict[str, Any]
WRITES = "writes"
ATTEMPTS = 5


class RecordsModel(ReadModel[Row]):
    """Rows that are JSON objects; nothing is folded from the log."""

    topics: tuple[str, ...] = ()

    def __init__(self, name: str, columns: tuple[Column, ...]) -> None:
        self.name = name
        self.columns = columns

    def evolve(self, row: Row | None, event: Any) -> Row | None:
        return row  # never given events: no topics

    def dump(self, row: Row) -> str:
        return json.dumps(row, ensure_ascii=False, sort_keys=True)

    def load(self, data: str) -> Row:
        loaded: Row = json.loads(data)
        return loaded


def text(name: str) -> Column:
    return Column(name, "text", lambda row: row.get(name))


def update(view: View[Row], change: Callable[[dict[str, Row]], Mapping[str, Row | None]]) -> None:
    """Apply ``change(current rows)`` (upserts; None deletes) in one write,
    retrying when another writer got there first."""
    for attempt in range(ATTEMPTS):
        written = view.max_tracking_id(WRITES)
        current = {str(row["key"]): row for row in view.select()}
        changes = change(current)
        try:
            view.write(changes, Tracking(WRITES, (written or 0) + 1), expected=written)
            return
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise


def replace_all(view: View[Row], rows: Mapping[str, Row]) -> None:
    """Make the table hold exactly ``rows``."""

    def change(current: dict[str, Row]) -> dict[str, Row | None]:
        gone: dict[str, Row | None] = {key: None for key in current if key not in rows}
        return {**gone, **rows}

    update(view, change)
