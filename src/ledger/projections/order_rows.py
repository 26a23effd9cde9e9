"""Read models whose row is one order's ``OrderFacts``, and paging helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.projections.facts import OrderFacts, dump_facts, fold_facts, load_facts
from ledger.projections.framework import Filter, ReadModel, View

MAX_LIMIT = 500


class FactsModel(ReadModel[OrderFacts]):
    """A read model over order facts; ``keep`` says which orders have a row."""

    def keep(self, facts: OrderFacts) -> bool:
        return True

    def evolve(self, row: OrderFacts | None, event: Any) -> OrderFacts | None:
        facts = fold_facts(row, event)
        return facts if facts is not None and self.keep(facts) else None

    def dump(self, row: OrderFacts) -> str:
        return dump_facts(row)

    def load(self, data: str) -> OrderFacts:
        return load_facts(data)


@dataclass(frozen=True)
class Page:
    """Limit/offset paging, bounded."""

    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT or self.offset < 0:
            raise ValueError(f"limit must be 1..{MAX_LIMIT} and offset >= 0")

    def slice(self, items: Sequence[Any]) -> list[Any]:
        return list(items[self.offset : self.offset + self.limit])

    def envelope(self, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


def paged_query(
    view: View[OrderFacts],
    filters: Sequence[Filter],
    order_by: Sequence[str],
    page: Page,
    render: Callable[[OrderFacts], dict[str, Any]],
) -> dict[str, Any]:
    """One page of rows from the store, rendered, with the total count."""
    rows = view.select(filters, order_by=order_by, limit=page.limit, offset=page.offset)
    return page.envelope([render(row) for row in rows], view.count(filters))


def flag(value: bool) -> int:
    return 1 if value else 0
