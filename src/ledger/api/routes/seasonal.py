"""Seasonal demand and planning (read models and the stored forecasts; any role)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ledger.api.deps import PrincipalDep
from ledger.api.errors import ApiError
from ledger.api.params import CleanText
from ledger.api.read_models import (
    VIEW_ERRORS,
    After,
    Limit,
    Offset,
    Open,
    PageOut,
    Wait,
    WorkerDep,
    caught_up,
    invalid,
)
from ledger.api.responses import ErrorOut, FastJSON
from ledger.projections.planning import horizon, sku_plan, transport_plan
from ledger.projections.seasonal_replica import SeasonalReplica, seasonal_replica
from ledger.projections.seasonal_report import HORIZON, seasonal_report
from ledger.worker import Worker

router = APIRouter(tags=["planning"], responses=VIEW_ERRORS)


def seasonal_memory(worker: Worker) -> SeasonalReplica:
    """The seasonal rows and series held in memory by this process."""
    return seasonal_replica(worker.views["seasonal"], worker.source)


By = Annotated[
    Literal["product", "family", "customer", "mode"],
    Query(description="series per product (SKU), product family, customer or transport mode"),
]
Months = Annotated[int, Query(ge=1, le=HORIZON, description="months to forecast, from this one")]
Measure = Annotated[
    Literal["orders", "quantity", "amount"] | None,
    Query(description="the forecast shown; default: quantity by product, amount by customer, "
          "orders by family and mode"),
]  # fmt: skip
SeriesKey = Annotated[
    CleanText | None,
    Query(min_length=1, max_length=200, description="one series, forecast now from its history"),
]
Currency = Annotated[
    str | None, Query(pattern="^[A-Z]{3}$", description="amount forecasts in this currency only")
]
History = Annotated[int, Query(ge=1, le=120, description="months of history shown")]


class SeasonalOut(PageOut):
    """Series with their history beside last year and their forecasts."""

    by: str
    measure: str
    months: int
    current_month: str
    computed_at: str | None


class PlanningOut(Open):
    """Per SKU expected quantity against open orders and allocated stock; per
    transport mode the shipments to expect each month."""

    months: list[str]
    lead_months: int
    skus: PageOut
    transport: list[dict[str, object]]


@router.get(
    "/reports/seasonal",
    response_model=SeasonalOut,
    responses={404: {"model": ErrorOut, "description": "no orders for that series"}},
)
def seasonal(
    worker: WorkerDep, principal: PrincipalDep, by: By = "product", months: Months = 12,
    measure: Measure = None, series: SeriesKey = None, currency: Currency = None,
    history: History = 36, after: After = None, wait: Wait = 5.0, limit: Limit = 50,
    offset: Offset = 0,
) -> Response:  # fmt: skip
    """Monthly orders, quantity and amount per series beside the same month
    last year, and the forecast for the next ``months`` months with an 80 %
    interval, its method, its backtest error and its peak months. All series:
    the daily job's forecasts; one ``series``: forecast on demand."""
    caught_up(worker, "seasonal", after, wait)
    try:
        report = seasonal_report(
            seasonal_memory(worker), worker.forecasts, by=by, today=worker.now(),
            months=months, measure=measure, series=series, currency=currency,
            history_months=history, limit=limit, offset=offset,
        )  # fmt: skip
    except LookupError as missing:
        details = {"by": by, "series": series}
        raise ApiError(404, "series_not_found", str(missing), details) from None
    except ValueError as error:
        raise invalid(str(error)) from None
    return FastJSON(report)


@router.get("/reports/planning", response_model=PlanningOut)
def planning(
    worker: WorkerDep, principal: PrincipalDep, months: Months = 6, after: After = None,
    wait: Wait = 5.0, limit: Limit = 50, offset: Offset = 0,
) -> Response:  # fmt: skip
    """For the next ``months`` months: per SKU the forecast quantity beside
    open orders and allocated stock (largest to cover first), and per transport
    mode the shipments scheduled, awaiting a schedule and still to come."""
    for name in ("board", "seasonal", "shipments", "reports"):
        caught_up(worker, name, after, wait)
    now, views = worker.now(), worker.views
    skus = sku_plan(views["board"], worker.forecasts, today=now.date(), months=months)
    transport = transport_plan(
        shipments=views["shipments"], board=views["board"],
        seasonal=seasonal_memory(worker).current(),
        forecasts=worker.forecasts, reports=views["reports"], today=now, months=months,
    )  # fmt: skip
    page = {"items": skus[offset : offset + limit], "total": len(skus), "limit": limit,
            "offset": offset}  # fmt: skip
    return FastJSON({
        "months": horizon(now.date(), months), "lead_months": transport["lead_months"],
        "skus": page, "transport": transport["modes"],
    })  # fmt: skip
