"""``/ui/planning``: seasonal planning — a series' history beside last year
and its forecast with the peak months, the forecasts of the largest series,
stock to cover per SKU and shipments to book per transport mode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledger.api.params import CleanText
from ledger.api.ui import planning_view
from ledger.api.ui.data import worker_of
from ledger.api.ui.i18n import translator
from ledger.api.ui.render import lang_of, page, to_login
from ledger.api.ui.session import principal_of

router = APIRouter()
Text = Annotated[CleanText, Query(max_length=200)]


@router.get("/planning", response_class=HTMLResponse)
def planning_page(
    request: Request, by: Text = "family", series: Text = "",
    months: Annotated[int, Query(ge=1, le=24)] = 12,
) -> Response:  # fmt: skip
    who = principal_of(request)
    if who is None:
        return to_login(request)
    query = planning_view.PlanningQuery.of(by, series, months)
    t = translator(lang_of(request))
    data = planning_view.planning_data(worker_of(request), query, t)
    return page(request, "planning.html", who, **data)
