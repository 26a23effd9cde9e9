"""Every item of a listing, a page of rows at a time, in the listing's order.

The listings' query functions (``projections``) take a view, select the
rows matching their filters and shape them into items. An export needs
all of the items without holding all of the rows: ``Pages`` hands a query
function a view whose every ``select`` answers only the next ``PAGE``
matching rows by key (the primary key: an index range on every store), so
the function applies its own filters and shaping to those rows alone, and
``every_item`` calls it again until the rows run out. Each row present for
the whole export is read exactly once, even while the view changes.

Items so come in key order; ``in_order`` sorts them into the listing's
own order through a temporary SQLite database (its sorter spills to disk),
so memory holds about one page whatever the number of items.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from typing import Any, Generic, cast

import orjson

from ledger.projections.framework import Filter, R, View
from ledger.projections.order_rows import MAX_LIMIT

PAGE = MAX_LIMIT  # rows per select: a listing function's largest page, so one call takes them all
Item = dict[str, Any]
Query = Callable[[View[Any]], Iterable[Item]]


class Pages(Generic[R]):
    """A view that answers each ``select`` with the next page of matching rows.

    Only ``select``, ``count`` and ``rows`` are for the query functions; the
    order, limit and offset they ask for are their paging of one page and are
    not passed on. ``keep`` drops rows after they are read (a filter the view
    has no column for); the page still moves past them.
    """

    def __init__(self, view: View[R], keep: Callable[[R], bool] | None = None) -> None:
        self.view = view
        self.model = view.model
        self.table = view.table
        self.keep = keep
        self.after: str | None = None
        self.last: list[R] = []

    def select(
        self,
        filters: Sequence[Filter] = (),
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[R]:
        bounded = [*filters, ("key", ">", self.after)] if self.after is not None else filters
        self.last = self.view.select(bounded, limit=PAGE)
        keep = self.keep
        return [row for row in self.last if keep(row)] if keep is not None else self.last

    def count(self, filters: Sequence[Filter] = ()) -> int:
        return len(self.last)  # the page's own; an export never asks the store for a total

    def rows(self, keys: Iterable[str]) -> dict[str, R]:
        return self.view.rows(keys)

    def turn(self) -> bool:
        """Move past the page read last; False when it was the last page."""
        if len(self.last) < PAGE:
            return False
        self.after = str(cast(Any, self.last[-1]).order_id)  # order-keyed read models
        return True


def every_item(
    view: View[R], query: Query, keep: Callable[[R], bool] | None = None
) -> Iterator[Item]:
    """``query``'s items over every page of ``view``'s rows, in key order."""
    pages = Pages(view, keep)
    while True:
        yield from query(cast(View[Any], pages))
        if not pages.turn():
            return


def all_of(fetch: Callable[[int], dict[str, Any]]) -> Iterator[Item]:
    """Every item of a paged answer (``items``/``total``), ``fetch(offset)`` a page."""
    offset = 0
    while True:
        page = fetch(offset)
        items = page["items"]
        yield from items
        offset += len(items)
        if not items or offset >= page["total"]:
            return


def in_order(
    items: Iterable[Item], key: Callable[[Item], Sequence[Any]], descending: bool = False
) -> Iterator[Item]:
    """``items`` sorted by ``key`` (then as they came), by way of a temporary
    SQLite database: an empty file name makes SQLite create a private file
    that no other process can open and that is deleted when it is closed."""
    # The generator may be resumed on another thread (a streamed response).
    with closing(sqlite3.connect("", check_same_thread=False)) as db:
        width = _spool(db, items, key)
        if width is None:
            return
        direction = " DESC" if descending else ""
        keys = ", ".join(f"k{i}{direction}" for i in range(width))
        for (data,) in db.execute(f"SELECT item FROM spool ORDER BY {keys}, rowid"):
            yield orjson.loads(data)


def _spool(
    db: sqlite3.Connection, items: Iterable[Item], key: Callable[[Item], Sequence[Any]]
) -> int | None:
    """Write every item with its sort key; returns the key's width (None: no items)."""
    width: int | None = None
    batch: list[tuple[Any, ...]] = []
    insert = ""
    for item in items:
        values = tuple(key(item))
        if width is None:
            width = len(values)
            names = ", ".join(f"k{i}" for i in range(width))
            db.execute(f"CREATE TABLE spool ({names}, item BLOB)")
            insert = f"INSERT INTO spool VALUES ({', '.join('?' * (width + 1))})"
        batch.append((*values, orjson.dumps(item)))
        if len(batch) == PAGE:
            db.executemany(insert, batch)
            batch.clear()
    if batch:
        db.executemany(insert, batch)
    return width
