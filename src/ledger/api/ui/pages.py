"""The read-only web pages under ``/ui``: board, order, backlog, reports, sign-in.

Every page needs a known token (kept in a cookie after the sign-in form);
without one a page redirects to ``/ui/login`` and the board fragment answers
401 so its refresh script can send the reader there.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast
from urllib.parse import parse_qs, quote
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ledger.aggregates.values import FIRST_DAY, LAST_DAY, within_business_range
from ledger.api.auth import Principal, TokenTable
from ledger.api.errors import ApiError
from ledger.api.fields import DATE_RANGE
from ledger.api.params import CleanText
from ledger.api.ui import data, downloads, order_view, planning_page, reports_view
from ledger.api.ui.actions import done_label
from ledger.api.ui.i18n import LANG_COOKIE, LANGS, translator
from ledger.api.ui.render import (
    HERE,
    PageRoute,
    days_late,
    lang_of,
    page,
    refused,
    to_login,
)
from ledger.api.ui.session import (
    HOME,
    check_token,
    forget_token,
    keep_token,
    principal_of,
    safe_next,
    same_origin,
)
from ledger.api.ui.workspace_forms import workspace_forms
from ledger.application import OrderNotFound
from ledger.projections.board import COLUMNS, FLAGS

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)
STATIC = {
    "ui.css": "text/css",
    "board.js": "text/javascript",
    "order.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
Text = Annotated[CleanText, Query(max_length=200)]
router.include_router(planning_page.router)  # /ui/planning


def _opt(value: str) -> str | None:
    return value.strip() or None


def _day(value: str) -> date | None:
    """The "as of" day of a filter form: none when empty or not a date; a day
    outside the business range is refused (422), as the API refuses it."""
    try:
        day = date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None
    if day is not None and not within_business_range(day):
        raise ApiError(422, "invalid_input", f"as_of must be a day {DATE_RANGE}", {"as_of": value})
    return day


def _board_query(
    customer: str, product: str, flag: str, as_of: str, stage: str = "", merchandiser: str = ""
) -> data.BoardQuery:
    chosen = flag if flag in FLAGS else None
    column = stage if stage in COLUMNS else None
    return data.BoardQuery(
        _opt(customer), _opt(product), chosen, _day(as_of), column, _opt(merchandiser)
    )


arrival = APIRouter(include_in_schema=False)


@arrival.get("/")
def front_door(request: Request) -> Response:
    """A browser arriving at ``/`` goes to the board; an API client asking
    for JSON keeps the API's 404 answer."""
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return RedirectResponse(HOME, status_code=303)
    raise HTTPException(404)


@router.get("", response_class=RedirectResponse)
def ui_home() -> RedirectResponse:
    return RedirectResponse("/ui/board", status_code=303)


@router.get("/static/{name}")
def static(name: Annotated[CleanText, Path(max_length=40)]) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    return FileResponse(
        HERE / "static" / name,
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Text = "") -> HTMLResponse:
    return page(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    body = (await request.body())[:4096].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    target = safe_next(form.get("next"))
    token = form.get("token", "").strip()
    who = check_token(request, token) if token and same_origin(request) else None
    if who is None:
        return page(request, "login.html", None, 401, next=target, error="login.bad")
    response = RedirectResponse(target, status_code=303)
    keep_token(response, request, token)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if not same_origin(request):
        return refused(request, 403, "error.forbidden", "error.other_site")
    response = RedirectResponse("/ui/login", status_code=303)
    forget_token(response)
    return response


@router.post("/lang")
async def switch_language(request: Request) -> RedirectResponse:
    body = (await request.body())[:2048].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    wanted = form.get("lang", "")
    if wanted not in LANGS:
        wanted = "zh" if lang_of(request) == "en" else "en"
    if same_origin(request):
        response.set_cookie(
            LANG_COOKIE, wanted, max_age=365 * 86400, path="/ui", samesite="lax", httponly=True
        )
    return response


def _people(request: Request) -> tuple[str, ...]:
    """The users who may receive orders: the board's merchandiser picker."""
    return tuple(cast(TokenTable, request.app.state.tokens).actors("receive"))


@router.get("/board", response_class=HTMLResponse)
def board_page(
    request: Request, customer: Text = "", product: Text = "", flag: Text = "", as_of: Text = "",
    stage: Text = "", merchandiser: Text = "",
) -> Response:  # fmt: skip
    who = principal_of(request)
    if who is None:
        return to_login(request)
    query = _board_query(customer, product, flag, as_of, stage, merchandiser)
    board = data.board_data(data.worker_of(request), query, _people(request))
    return page(request, "board.html", who, query=query, board=board, flags=FLAGS, stages=COLUMNS)


@router.get("/board/fragment", response_class=HTMLResponse)
def board_fragment(
    request: Request, customer: Text = "", product: Text = "", flag: Text = "", as_of: Text = "",
    stage: Text = "", merchandiser: Text = "",
) -> Response:  # fmt: skip
    """Only the board region, for the refresh script to swap in."""
    who = principal_of(request)
    if who is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    query = _board_query(customer, product, flag, as_of, stage, merchandiser)
    board = data.board_data(data.worker_of(request), query, _people(request))
    return page(
        request, "board_fragment.html", who, query=query, board=board, flags=FLAGS,
        stages=COLUMNS,
    )  # fmt: skip


@router.get("/orders/{ref}", response_class=HTMLResponse)
def order_page(
    request: Request,
    ref: Annotated[CleanText, Path(max_length=80)],
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    done: Annotated[CleanText, Query(max_length=40)] = "",
) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    return render_order(request, who, ref, version, done=done)


def render_order(
    request: Request,
    who: Principal,
    ref: str,
    version: int | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """The order page, with the actions this user may take on it now
    (``failed``: a refused form to show again, its values kept)."""
    try:
        order_id = order_view.resolve_order_id(ref)
        view = order_view.order_page(data.ledger_of(request), order_id, version, lang_of(request))
    except OrderNotFound:
        return page(request, "not_found.html", who, 404, what=ref)
    extras = _order_extras(request, order_id, view)
    forms = workspace_forms(request, who, view, extras["next_action"], extra.get("failed"))
    extra.setdefault("done", "")
    extra["done_label"] = done_label(extra["done"], lang_of(request))
    return page(request, "order.html", who, status_code, **view, **extras, **forms, **extra)


def _order_extras(request: Request, order_id: UUID, view: dict[str, Any]) -> dict[str, Any]:
    """The board's word on the order (overdue days, next action) while it is live."""
    worker = data.worker_of(request)
    today = worker.now().date()
    live = view["shown"] == view["latest"]
    found = order_view.board_card(worker.ledger, order_id, today) if live else None
    overdue = 0
    if found is not None and found["flags"]["overdue"]:
        overdue = days_late(found["latest_promised_date"], today) or -1
    return {
        "overdue": overdue,
        "next_action": found["next_action"] if found else "",
        "open_events": order_view.OPEN_EVENTS,
    }


@router.get("/go")
def go_to_order(request: Request, number: Text = "") -> RedirectResponse:
    """The header's order-number box: straight to that order's page."""
    target = number.strip() or ""
    if not target:
        return RedirectResponse("/ui/board", status_code=303)
    return RedirectResponse(f"/ui/orders/{quote(target.upper(), safe='')}", status_code=303)


@router.get("/backlog", response_class=HTMLResponse)
def backlog_page(
    request: Request, customer: Text = "", product: Text = "", as_of: Text = ""
) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    worker = data.worker_of(request)
    day = _day(as_of)
    report = data.backlog_data(worker, _opt(customer), _opt(product), day)
    choices = data.filter_choices(worker.views["board"].select())
    ageing = data.ageing_chart(report, translator(lang_of(request)))
    return page(
        request, "backlog.html", who, report=report, ageing=ageing, customer=_opt(customer),
        product=_opt(product), as_of=day, **choices,
    )  # fmt: skip


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    year: Annotated[int | None, Query(ge=FIRST_DAY.year, le=LAST_DAY.year)] = None,
    currency: Annotated[CleanText, Query(max_length=3)] = "",
) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    worker = data.worker_of(request)
    view = reports_view.reports_view(worker)
    if view is None:
        return page(request, "reports.html", who, available=False)
    years, currencies = reports_view.years_and_currencies(view)
    year = year or (years[0] if years else worker.now().year)
    chosen = currency.upper() if currency.upper() in currencies else (currencies or ["CNY"])[0]
    t = translator(lang_of(request))
    return page(
        request, "reports.html", who, available=True, year=year, years=years,
        currency=chosen, currencies=currencies,
        charts=reports_view.monthly(view, year, chosen, t),
        customers=reports_view.top_groups(view, "customer", year, chosen),
        products=reports_view.top_groups(view, "product", year, chosen),
        lead=reports_view.lead_time_rows(view, year),
    )  # fmt: skip


router.include_router(downloads.router)  # before the catch-all below


@router.get("/{unknown:path}", response_class=HTMLResponse)
def no_such_page(request: Request, unknown: Annotated[CleanText, Path(max_length=400)]) -> Response:
    """Any other address under /ui: a 404 page, in the site's frame."""
    return refused(request, 404, "error.not_found", "error.no_page", "/ui/" + unknown)
