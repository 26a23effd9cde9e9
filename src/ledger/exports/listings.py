"""Each read-model listing as a spreadsheet: its columns and every one of its items.

A listing's items are exactly the JSON items of its read, made by the same
query function with the same filters, over every page of the view instead
of one (``streams``), and in the read's own order. Column names are label
keys: the API puts headers in the caller's language.

``Params`` are the read's own query parameters by name (``customer``,
``as_of``, ``group_by``...); each source takes the ones its read takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from ledger.exports.streams import PAGE, Item, all_of, every_item, in_order
from ledger.formats.sheets import Column
from ledger.projections.alerts import list_alerts
from ledger.projections.backlog import backlog_report
from ledger.projections.board import COLUMNS, board_cards
from ledger.projections.framework import Source, View
from ledger.projections.order_rows import MAX_LIMIT
from ledger.projections.registry import READ_MODELS
from ledger.projections.search import search_orders
from ledger.projections.timetravel import view_as_of
from ledger.worker import Worker

Params = Mapping[str, Any]
Rows = Callable[[Worker, Params], Iterator[Item]]


@dataclass(frozen=True)
class Listing:
    """A listing as a file: its name (the file's and the sheet's), the view it
    reads (for read-your-writes), its columns and its items; ``headers`` in a
    language ("en", "zh") when the columns do not take the API's labels."""

    name: str
    view: str
    columns: Callable[[Params], Sequence[Column]]
    rows: Rows
    stem: Callable[[Params], str] = field(default=lambda p: "")
    headers: Callable[[str], Sequence[str]] | None = None


def fixed(*columns: Column) -> Callable[[Params], Sequence[Column]]:
    return lambda params: columns


def joined(parts: Iterable[str]) -> str:
    return "; ".join(parts)


def batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# -- board ----------------------------------------------------------------------


def _board_view(worker: Worker, as_of: datetime | None) -> tuple[View[Any], date]:
    if as_of is None:
        return worker.views["board"], worker.now().date()
    live = worker.views["board"]
    return view_as_of(Source.of(worker.ledger), READ_MODELS["board"], as_of, live), as_of.date()


def _with_alerts(worker: Worker, cards: Iterable[Item]) -> Iterator[Item]:
    """Each card's open alerts, as the board's JSON has them (a batch per query)."""
    for batch in batches(cards, PAGE):
        ids = [card["order_id"] for card in batch]
        found: dict[str, list[dict[str, Any]]] = {}
        for alert in worker.alerts.select([("order_id", "in", ids)]):
            found.setdefault(alert["order_id"], []).append(
                {"kind": alert["kind"], "severity": alert["severity"], "since": alert["raised_at"]}
            )
        for card in batch:
            yield {**card, "alerts": found.get(card["order_id"], [])}


def board_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """Every card of the board's columns (or of ``stage``), column by column, by number."""
    as_of = p.get("as_of")
    view, today = _board_view(worker, as_of)
    product = p.get("product")
    keep = (lambda facts: product in facts.lines) if product else None

    def page(v: View[Any]) -> list[Item]:
        return list(board_cards(v, today=today, stage=p.get("stage"), customer=p.get("customer"),
                           flag=p.get("flag"), limit=MAX_LIMIT)["items"])  # fmt: skip

    cards = in_order(
        every_item(view, page, keep), lambda c: (COLUMNS.index(c["stage"]), c["number"])
    )
    return cards if as_of is not None else _with_alerts(worker, cards)


def _alert_text(card: Item) -> str:
    return joined(f"{a['kind']} ({a['severity']})" for a in card.get("alerts") or ())


BOARD = Listing(
    "board",
    "board",
    fixed(
        Column("stage"),
        Column("number"),
        Column("customer"),
        Column("currency"),
        Column("total", "money"),
        Column("original_promised_date", "date"),
        Column("latest_promised_date", "date"),
        Column("shipped_ratio", "number"),
        Column("invoiced_ratio", "number"),
        Column("paid_ratio", "number"),
        Column("open_quantity", "int"),
        Column("flags.on_hold", "bool"),
        Column("flags.open_quality_issue", "bool"),
        Column("flags.open_complaint", "bool"),
        Column("flags.overdue", "bool"),
        Column("flags.transit_exception", "bool"),
        Column("next_action"),
        Column("alerts", get=_alert_text),
        Column("created_at", "datetime"),
        Column("last_event_at", "datetime"),
        Column("version", "int"),
        Column("order_id"),
    ),
    board_rows,
)


# -- backlog --------------------------------------------------------------------


def backlog_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """Overdue and stale orders, most late first, as ``GET /backlog`` orders them."""
    as_of = p.get("as_of")
    live = worker.views["backlog"]
    view = (
        live
        if as_of is None
        else view_as_of(Source.of(worker.ledger), READ_MODELS["backlog"], as_of, live)
    )
    now = worker.now() if as_of is None else as_of

    def page(v: View[Any]) -> list[Item]:
        return list(backlog_report(v, now=now, stale_days=worker.settings.stale_days,
                              customer=p.get("customer"), product=p.get("product"),
                              limit=MAX_LIMIT)["items"])  # fmt: skip

    def order(i: Item) -> tuple[int, int, str]:
        return (-(i["days_late_latest"] or 0), -i["days_since_last_event"], i["number"])

    return in_order(every_item(view, page), order)


def _lines_text(item: Item) -> str:
    return joined(f"{ln['sku']} {ln['name']} × {ln['open_quantity']}" for ln in item["lines"])


BACKLOG = Listing(
    "backlog",
    "backlog",
    fixed(
        Column("number"),
        Column("customer"),
        Column("stage"),
        Column("currency"),
        Column("open_quantity", "int"),
        Column("open_value", "money"),
        Column("original_promised_date", "date"),
        Column("latest_promised_date", "date"),
        Column("days_late_original", "int"),
        Column("days_late_latest", "int"),
        Column("ageing_original"),
        Column("ageing_latest"),
        Column("overdue_original", "bool"),
        Column("overdue_latest", "bool"),
        Column("stale", "bool"),
        Column("days_since_last_event", "int"),
        Column("last_event_at", "datetime"),
        Column("lines", get=_lines_text),
        Column("order_id"),
    ),
    backlog_rows,
)


# -- search, alerts, archive ------------------------------------------------------


def search_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """The orders found by the search index, by number (``?number=`` included)."""

    def page(v: View[Any]) -> list[Item]:
        return list(search_orders(v, number=p.get("number"), customer=p.get("customer"),
                             stage=p.get("stage"), created_from=p.get("created_from"),
                             created_to=p.get("created_to"), limit=MAX_LIMIT)["items"])  # fmt: skip

    return in_order(every_item(worker.views["search"], page), lambda i: (i["number"],))


SEARCH = Listing(
    "orders",
    "search",
    fixed(
        Column("number"),
        Column("customer"),
        Column("stage"),
        Column("created_at", "datetime"),
        Column("currency"),
        Column("total", "money"),
        Column("order_id"),
    ),
    search_rows,
)


def alert_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """The alerts of the last scan, most severe and oldest first (offset pages:
    the scan replaces the table whole, so no key stays put between scans)."""
    return all_of(lambda offset: list_alerts(
        worker.alerts, kind=p.get("kind"), severity=p.get("severity"),
        customer=p.get("customer"), limit=MAX_LIMIT, offset=offset))  # fmt: skip


def _detail_text(item: Item) -> str:
    detail = item.get("detail") or {}
    return joined(f"{k}: {v}" for k, v in sorted(detail.items()))


ALERTS = Listing(
    "alerts",
    "board",
    fixed(
        Column("kind"),
        Column("severity"),
        Column("number"),
        Column("customer"),
        Column("stage"),
        Column("raised_at", "datetime"),
        Column("detail", get=_detail_text),
        Column("order_id"),
    ),
    alert_rows,
)
