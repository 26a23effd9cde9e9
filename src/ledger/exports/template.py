"""Orders in the import template's layout: a file ``POST /imports`` takes back.

``as_template(listing)`` turns a listing whose items are orders (they name
their ``order_id``: the search of ``GET /orders``, the board) into one more
listing: one row per order line, in the columns of ``ledger.sheets.template``
(the import's own definition, not a copy), headers in the caller's language
as the import reads them. The listing's filters and order are its source's.

The read models hold neither the customer's contact nor the delivery nor
the lines' model and spec, so each order is read whole from the event store
(as it was at ``as_of`` for a past board) and shown as its JSON shows it:
personal data opened, ``[erased]`` once erased. The customer reference is
the order's number: rows of one order stay one order, and a file imported
twice records nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.aggregates.order import Order
from ledger.aggregates.readout import plain
from ledger.exports.listings import BOARD, SEARCH, Listing, Params, fixed
from ledger.exports.streams import Item
from ledger.formats.sheets import Column, Kind
from ledger.sheets import template
from ledger.worker import Worker

# How each kind of template cell is written: codes and choices as text (a
# phone number keeps its leading zero, a choice its English value, which
# the import reads in either language), unit prices with every decimal.
KINDS: dict[template.Kind, Kind] = {
    "text": "text",
    "code": "text",
    "choice": "text",
    "integer": "int",
    "decimal": "price",
    "date": "date",
}
COLUMNS: tuple[Column, ...] = tuple(Column(c.key, KINDS[c.kind]) for c in template.COLUMNS)


def headers(lang: str) -> Sequence[str]:
    """The template's headers in ``lang`` (zh or en): the import knows both."""
    return [column.header(lang) for column in template.COLUMNS]


def receive_body(order: Order) -> dict[str, Any]:
    """What a receive command would need to record ``order`` again, as its JSON shows it."""
    return {
        "channel": order.channel,
        "customer": plain(order.customer),
        "delivery": plain(order.delivery),
        "currency": order.currency,
        "requested_date": plain(order.requested_date),
        "lines": [plain(line) for line in order.lines.values()],
    }


def line_rows(ref: str, body: Mapping[str, Any]) -> Iterator[Item]:
    """One item per line of ``body`` (a receive command's body), keyed by the
    template's columns; the order's own columns are repeated on every row."""
    for line in body["lines"]:
        yield {
            column.key: ref if column.key == template.GROUP_KEY else _value(body, line, column)
            for column in template.COLUMNS
        }


def _value(body: Mapping[str, Any], line: Mapping[str, Any], column: template.Column) -> Any:
    value: Any = line if column.level == "line" else body
    for part in column.field[1:] if column.level == "line" else column.field:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def as_template(source: Listing, name: str) -> Listing:
    """``source``'s orders in the template's layout, as a listing named ``name``."""

    def rows(worker: Worker, params: Params) -> Iterator[Item]:
        as_of: datetime | None = params.get("as_of")
        for item in source.rows(worker, params):
            order = worker.ledger.get_order(UUID(item["order_id"]), as_of=as_of)
            yield from line_rows(order.number, receive_body(order))

    return Listing(name, source.view, fixed(*COLUMNS), rows, source.stem, headers)


ORDERS_TEMPLATE = as_template(SEARCH, "orders-template")
BOARD_TEMPLATE = as_template(BOARD, "board-orders-template")
