"""Pages of an order's history, each bounded in entries and in bytes.

With ``?with_state=true`` every entry carries the whole order after it, so
the answer grows with events × lines, without bound in one answer. A page
holds at most ``limit`` entries and stops early once its entries reach
``MAX_PAGE_BYTES`` (never fewer than one entry); its ``next`` is the
version to pass as ``?after=`` for the rest.

States are computed lazily, one entry at a time: the events up to ``after``
are only folded, and nothing past the page's end is described.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from ledger.aggregates.readout import describe
from ledger.api.responses import history_json
from ledger.application import Ledger
from ledger.audit.plain import jsonable
from ledger.audit.replay import diff, facets_of

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_PAGE_BYTES = 4 * 1024 * 1024

Changes = dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class HistoryPage:
    """Entries already encoded as JSON, and the version after which the rest follows."""

    entries: list[orjson.Fragment]
    next: int | None


def history_page(
    ledger: Ledger, order_id: UUID, *, after: int, limit: int, with_state: bool
) -> HistoryPage:
    """Up to ``limit`` entries after version ``after``, within ``MAX_PAGE_BYTES``."""
    rows = ledger.history(order_id, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    steps = states_after(ledger, order_id, after, rows[-1].version) if rows and with_state else None
    entries: list[orjson.Fragment] = []
    size, shown = 0, after
    for row in rows:
        entry = history_json(row)
        if steps is not None:
            changes, state = next(steps)
            entry.update(changes=as_from_to(changes), state=state)
        encoded = orjson.dumps(entry)
        size += len(encoded)
        if entries and size > MAX_PAGE_BYTES:
            return HistoryPage(entries, shown)
        entries.append(orjson.Fragment(encoded))
        shown = row.version
    return HistoryPage(entries, shown if more else None)


def states_after(
    ledger: Ledger, order_id: UUID, after: int, last: int
) -> Iterator[tuple[Changes, dict[str, Any]]]:
    """For each version after ``after`` up to ``last``: what it changed (the facets
    auditors read, as in ``ledger replay``) and the order's state after it."""
    order: Any = None
    before: dict[str, Any] | None = None
    for stored in ledger.events.get(order_id, lte=last):
        event: Any = stored
        if event.originator_version > after and before is None:
            before = facets_of(describe(order)) if order is not None else {}
        order = event.mutate(order)
        if before is None:
            continue
        state = describe(order)
        facets = facets_of(state)
        changes = {k: (jsonable(a), jsonable(b)) for k, (a, b) in diff(before, facets).items()}
        yield changes, jsonable(state)
        before = facets


def as_from_to(changes: Changes) -> dict[str, dict[str, Any]]:
    return {key: {"from": was, "to": now} for key, (was, now) in changes.items()}
