"""What the pages show, read through the same query functions as the JSON API.

The board, backlog and reports come from the worker's views (the ones
``GET /board``, ``/backlog`` and ``/reports/sales`` read); "as of" folds the
events up to the end of the chosen day, exactly as ``?as_of=`` does. The
order page reads the application: history, state at a version, ``describe``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, cast
from uuid import UUID
from weakref import WeakKeyDictionary

from fastapi import Request

from ledger.api.ui.charts import Chart, Series, grouped_bars
from ledger.api.ui.i18n import Translate
from ledger.application import Ledger, OrderNotFound
from ledger.audit.keys import AuditKeyProblem
from ledger.audit.service import verify_store
from ledger.projections.backlog import BUCKETS, backlog_report
from ledger.projections.board import COLUMNS, FLAGS, board_cards, board_filters, card
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import Source, View
from ledger.projections.registry import READ_MODELS
from ledger.projections.timetravel import backlog_as_of, view_as_of
from ledger.worker import Worker

PER_COLUMN = 40


def worker_of(request: Request) -> Worker:
    """The worker ``create_app`` keeps on ``app.state``: the views and the clock."""
    return cast(Worker, request.app.state.worker)


def ledger_of(request: Request) -> Ledger:
    return cast(Ledger, request.app.state.ledger)


def end_of_day(day: date) -> datetime:
    """The moment an "as of" date stands for: the last instant of that day, UTC."""
    return datetime.combine(day, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class BoardQuery:
    customer: str | None = None
    product: str | None = None
    flag: str | None = None
    as_of: date | None = None
    stage: str | None = None
    merchandiser: str | None = None

    def params(self) -> dict[str, str]:
        """The filters as the board's URL carries them (empty ones left out)."""
        given = {
            "customer": self.customer, "product": self.product, "flag": self.flag,
            "as_of": self.as_of.isoformat() if self.as_of else None, "stage": self.stage,
            "merchandiser": self.merchandiser,
        }  # fmt: skip
        return {key: value for key, value in given.items() if value}


# An order's merchandiser: the signed-in user who received it (the actor of its
# first event, which never changes), remembered per ledger once read.
_RECEIVERS: WeakKeyDictionary[Ledger, dict[str, str]] = WeakKeyDictionary()


def merchandiser_of(ledger: Ledger, order_id: str) -> str:
    known = _RECEIVERS.setdefault(ledger, {})
    found = known.get(order_id)
    if found is None:
        try:
            first = ledger.history(UUID(order_id), limit=1)
        except OrderNotFound:
            return ""
        found = known[order_id] = str(first[0].meta.get("actor", "")) if first else ""
    return found


def board_view(worker: Worker, as_of: date | None) -> tuple[View[OrderFacts], date]:
    """The live board view and today, or the board folded up to ``as_of``."""
    if as_of is None:
        return worker.views["board"], worker.now().date()
    past: View[OrderFacts] = view_as_of(
        Source.of(worker.ledger), READ_MODELS["board"], end_of_day(as_of), worker.views["board"]
    )
    return past, as_of


def known_merchandisers(ledger: Ledger) -> set[str]:
    """The merchandisers of the orders looked at so far (no store read)."""
    return {m for m in _RECEIVERS.get(ledger, {}).values() if m}


def board_data(worker: Worker, query: BoardQuery, people: tuple[str, ...] = ()) -> dict[str, Any]:
    """Columns (count and first cards), flag totals and the filter choices.
    The counts are of the board shown: live, or folded up to ``as_of``.
    ``people``: the users who may receive orders, for the merchandiser picker."""
    view, today = board_view(worker, query.as_of)
    stages = [query.stage] if query.stage in COLUMNS else list(COLUMNS)
    if query.product is None and query.merchandiser is None:
        shown = {stage: _column(view, today, stage, query) for stage in stages}
    else:
        shown = {c["stage"]: c for c in _columns_filtered(worker.ledger, view, today, query)}
    columns = [shown.get(stage) or {"stage": stage, "count": 0, "cards": []} for stage in COLUMNS]
    everything = view.select()
    every = view.select(board_filters(today, customer=query.customer))
    flags = Counter(f for row in every for f, on in card(row, today)["flags"].items() if on)
    return {
        "columns": columns,
        "today": today,
        "total": sum(c["count"] for c in columns),
        "flag_counts": {f: flags.get(f, 0) for f in FLAGS},
        "merchandisers": sorted(set(people) | known_merchandisers(worker.ledger)),
        **filter_choices(everything),
    }


def _column(view: View[OrderFacts], today: date, stage: str, q: BoardQuery) -> dict[str, Any]:
    page = board_cards(
        view, today=today, stage=stage, customer=q.customer, flag=q.flag, limit=PER_COLUMN
    )
    return {"stage": stage, "count": page["total"], "cards": page["items"]}


def _columns_filtered(
    ledger: Ledger, view: View[OrderFacts], today: date, q: BoardQuery
) -> list[dict[str, Any]]:
    """The board's own filters in the store, then the product (a line's SKU) and
    the merchandiser here: the board rows keep neither in a column."""
    rows = view.select(board_filters(today, q.stage, q.customer, q.flag), order_by=("number",))
    by_stage: dict[str, list[OrderFacts]] = {}
    for row in rows:
        if q.product is not None and q.product not in row.lines:
            continue
        if q.merchandiser is not None and merchandiser_of(ledger, row.order_id) != q.merchandiser:
            continue
        by_stage.setdefault(row.stage, []).append(row)
    return [
        {
            "stage": stage,
            "count": len(by_stage.get(stage, [])),
            "cards": [card(r, today) for r in by_stage.get(stage, [])[:PER_COLUMN]],
        }
        for stage in COLUMNS
    ]


def filter_choices(rows: list[OrderFacts]) -> dict[str, Any]:
    customers = sorted({row.customer for row in rows})
    products: dict[str, str] = {}
    for row in rows:
        for sku, line in row.lines.items():
            products.setdefault(sku, line.name)
    return {"customers": customers, "products": sorted(products.items())}


# -- backlog -----------------------------------------------------------------------


def backlog_data(
    worker: Worker, customer: str | None, product: str | None, as_of: date | None
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "customer": customer, "product": product, "limit": 500, "offset": 0,
        "stale_days": worker.settings.stale_days,
    }  # fmt: skip
    if as_of is not None:
        report = backlog_as_of(worker.ledger, end_of_day(as_of), **query)
    else:
        report = backlog_report(worker.views["backlog"], now=worker.now(), **query)
    report["buckets"] = [label for label, _, _ in BUCKETS]
    report["top_customers"] = top_open_value(report["summary"]["by_customer"])
    return report


def ageing_chart(report: dict[str, Any], t: Translate) -> Chart:
    """Orders per ageing bucket, against the original and against the latest promise."""
    ageing = report["summary"]["ageing"]
    labels = report["buckets"]
    series = [
        Series(
            t("backlog.against_original"), [ageing["original"][b]["orders"] for b in labels], "s2"
        ),
        Series(t("backlog.against_latest"), [ageing["latest"][b]["orders"] for b in labels], "s1"),
    ]
    return grouped_bars([f"{b} {t('days')}" for b in labels], series, counts=True)


def top_open_value(by_customer: dict[str, Any], n: int = 8) -> dict[str, list[dict[str, Any]]]:
    """Per currency (largest total first), its customers by open value with a
    share for bars: amounts of two currencies never share one scale."""
    by_currency: dict[str, list[dict[str, Any]]] = {}
    for name, figures in by_customer.items():
        for currency, value in figures["open_value"].items():
            by_currency.setdefault(currency, []).append(
                {"customer": name, "currency": currency, "value": Decimal(value),
                 "orders": figures["orders"]}
            )  # fmt: skip
    charts: dict[str, list[dict[str, Any]]] = {}
    totals = {c: sum(r["value"] for r in rows) for c, rows in by_currency.items()}
    for currency in sorted(by_currency, key=lambda c: (-totals[c], c)):
        rows = sorted(by_currency[currency], key=lambda r: (-r["value"], r["customer"]))[:n]
        biggest = max((r["value"] for r in rows), default=Decimal(1)) or Decimal(1)
        for row in rows:
            row["share"] = float(row["value"] / biggest)
        charts[currency] = rows
    return charts


# -- order ---------------------------------------------------------------------------


def chain_check(ledger: Ledger, order_id: Any) -> dict[str, Any]:
    """The audit verification of this order's hash chain when the store has
    an audit key; otherwise why it is not available."""
    try:
        report = verify_store(ledger, order_id)
    except AuditKeyProblem as e:
        return {"available": False, "why": str(e)}
    return {"available": True, **report.as_json()}
