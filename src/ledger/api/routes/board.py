"""The progress board, the backlog and the alerts (read models)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ledger.api.deps import PrincipalDep
from ledger.api.exports import listing_get
from ledger.api.params import CleanText
from ledger.api.read_models import (
    VIEW_ERRORS,
    After,
    AsOf,
    BacklogOut,
    BoardOut,
    Customer,
    Limit,
    Offset,
    PageOut,
    Wait,
    WorkerDep,
    caught_up,
    utc,
)
from ledger.api.responses import FastJSON
from ledger.exports.listings import ALERTS, BACKLOG, BOARD
from ledger.exports.template import BOARD_TEMPLATE
from ledger.projections.alerts import list_alerts
from ledger.projections.backlog import backlog_report
from ledger.projections.board import board_cards
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import Source, View
from ledger.projections.registry import READ_MODELS
from ledger.projections.timetravel import backlog_as_of, view_as_of
from ledger.worker import Worker

router = APIRouter(tags=["read models"], responses=VIEW_ERRORS)

Stage = Literal[
    "received", "verified", "confirmed", "in_production", "ready_to_ship", "shipped",
    "delivered", "invoiced", "settled", "on_hold", "rejected",
]  # fmt: skip
Flag = Literal["on_hold", "open_quality_issue", "open_complaint", "overdue", "transit_exception"]
Kind = Literal["overdue", "stale", "review_due", "transit_exception"]
Severity = Literal["low", "medium", "high"]
PerColumn = Annotated[int, Query(ge=1, le=500, description="cards per column")]


@listing_get(
    router, "/board", BOARD, variants={"template": BOARD_TEMPLATE}, response_model=BoardOut
)
def board(
    worker: WorkerDep,
    principal: PrincipalDep,
    customer: Customer = None,
    flag: Flag | None = None,
    stage: Stage | None = None,
    as_of: AsOf = None,
    after: After = None,
    wait: Wait = 5.0,
    limit: PerColumn = 20,
    offset: Offset = 0,
) -> Response:
    """Columns by stage, each with its card count and a page of its cards
    (``limit``/``offset`` per column); ``?as_of=`` folds the events up to then."""
    stages = [stage] if stage else list(get_args(Stage))
    query = {"customer": customer, "flag": flag, "limit": limit, "offset": offset}
    if as_of is not None:
        as_of = utc(as_of)
        past: View[OrderFacts] = view_as_of(
            Source.of(worker.ledger), READ_MODELS["board"], as_of, worker.views["board"]
        )
        result = _columns(past, stages, as_of.date(), query)
        return FastJSON({**result, "as_of": as_of.isoformat(), "alerts": None})
    caught_up(worker, "board", after, wait)
    result = _columns(worker.views["board"], stages, worker.now().date(), query)
    _attach_alerts(worker, result)
    return FastJSON(result)


def _columns(
    view: View[OrderFacts], stages: list[str], today: date, query: dict[str, Any]
) -> dict[str, Any]:
    columns = []
    for stage in stages:
        page = board_cards(view, today=today, stage=stage, **query)
        columns.append({"stage": stage, "count": page["total"], "cards": page["items"]})
    return {"columns": columns, "today": today.isoformat()}


def _attach_alerts(worker: Worker, board: dict[str, Any]) -> None:
    """Each card's open alerts, and the alert counts by kind over all orders."""
    cards = [card for column in board["columns"] for card in column["cards"]]
    ids = [card["order_id"] for card in cards]
    by_order: dict[str, list[dict[str, Any]]] = {}
    for alert in worker.alerts.select([("order_id", "in", ids)]) if ids else []:
        by_order.setdefault(alert["order_id"], []).append(
            {"kind": alert["kind"], "severity": alert["severity"], "since": alert["raised_at"]}
        )
    for card in cards:
        card["alerts"] = by_order.get(card["order_id"], [])
    kinds = Counter(alert["kind"] for alert in worker.alerts.select())
    board["alerts"] = {"total": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}


@listing_get(router, "/backlog", BACKLOG, response_model=BacklogOut)
def backlog(
    worker: WorkerDep,
    principal: PrincipalDep,
    customer: Customer = None,
    product: Annotated[
        CleanText | None, Query(min_length=1, max_length=64, description="a SKU")
    ] = None,
    as_of: AsOf = None,
    after: After = None,
    wait: Wait = 5.0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Open orders past their original or latest promise, or without an event
    for ``LEDGER_STALE_DAYS``; ageing buckets; totals by customer and product."""
    query: dict[str, Any] = {
        "customer": customer, "product": product, "limit": limit, "offset": offset,
        "stale_days": worker.settings.stale_days,
    }  # fmt: skip
    if as_of is not None:
        live = worker.views["backlog"]
        return FastJSON(backlog_as_of(worker.ledger, utc(as_of), live=live, **query))
    caught_up(worker, "backlog", after, wait)
    return FastJSON(backlog_report(worker.views["backlog"], now=worker.now(), **query))


@listing_get(router, "/alerts", ALERTS, response_model=PageOut)
def alerts(
    worker: WorkerDep,
    principal: PrincipalDep,
    kind: Kind | None = None,
    severity: Severity | None = None,
    customer: Customer = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Alerts of the last scan (overdue, stale, transit exception), most
    severe and oldest first; the scan runs on ``LEDGER_ALERT_CRON``."""
    page = list_alerts(
        worker.alerts, kind=kind, severity=severity, customer=customer, limit=limit, offset=offset
    )
    return FastJSON(page)
