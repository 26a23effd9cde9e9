"""The pages' download buttons: the listing a page shows as CSV or XLSX, with
the page's own filters, and an order's printable documents as PDF.

They answer the same files as ``?format=`` on the API (``exports``,
``documents``), signed in by the pages' cookie, in the pages' language.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ledger.aggregates.stages import SIDE_STAGES, STAGES
from ledger.api.documents import company_of, pdf_response, statement_document
from ledger.api.exports import sheet_file
from ledger.api.params import CleanText
from ledger.api.ui.data import end_of_day, ledger_of, worker_of
from ledger.api.ui.order_view import resolve_order_id
from ledger.api.ui.render import PageRoute, lang_of, page, refused, to_login
from ledger.api.ui.session import principal_of
from ledger.application import OrderNotFound
from ledger.exports.listings import BACKLOG, BOARD, Listing
from ledger.exports.registers import LEAD_TIMES, SALES
from ledger.exports.template import BOARD_TEMPLATE, ORDERS_TEMPLATE
from ledger.formats.shipping_pdf import Kind as DocumentKind
from ledger.formats.shipping_pdf import shipping_pdf
from ledger.projections.board import COLUMNS, FLAGS

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Sheet = Annotated[Literal["csv", "xlsx"], Path()]
Text = Annotated[CleanText, Query(max_length=200)]
Year = Annotated[int | None, Query(ge=2000, le=9999)]
Grouping = Literal["month", "customer", "product"]
STAGE_NAMES = frozenset((*STAGES, *SIDE_STAGES))


def _opt(value: str) -> str | None:
    return value.strip() or None


def _day(value: str) -> date | None:
    """The day given, or None (a page's filter left empty or mistyped means any)."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _as_of(value: str) -> Any:
    day = _day(value)
    return end_of_day(day) if day is not None else None


def _sheet(request: Request, listing: Listing, fmt: str, params: dict[str, Any]) -> Response:
    if principal_of(request) is None:
        return to_login(request)
    return sheet_file(listing, fmt, lang_of(request), worker_of(request), params)


def _board_params(
    customer: str, product: str, flag: str, as_of: str, stage: str = ""
) -> dict[str, Any]:
    return {"customer": _opt(customer), "product": _opt(product), "as_of": _as_of(as_of),
            "flag": flag if flag in FLAGS else None,
            "stage": stage if stage in COLUMNS else None}  # fmt: skip


@router.get("/board/export.{fmt}")
def board_file(
    request: Request, fmt: Sheet, customer: Text = "", product: Text = "", flag: Text = "",
    as_of: Text = "", stage: Text = "",
) -> Response:  # fmt: skip
    """Every card of the board as the page filters it (but for the merchandiser)."""
    return _sheet(request, BOARD, fmt, _board_params(customer, product, flag, as_of, stage))


@router.get("/board/template.{fmt}")
def board_template_file(
    request: Request, fmt: Sheet, customer: Text = "", product: Text = "", flag: Text = "",
    as_of: Text = "", stage: Text = "",
) -> Response:  # fmt: skip
    """The orders on the board as the page filters it, in the import template's layout."""
    params = _board_params(customer, product, flag, as_of, stage)
    return _sheet(request, BOARD_TEMPLATE, fmt, params)


@router.get("/imports/orders.{fmt}")
def orders_template_file(
    request: Request, fmt: Sheet, customer: Text = "", stage: Text = "",
    created_from: Text = "", created_to: Text = "",
) -> Response:  # fmt: skip
    """The orders found by the imports page's filters, in the import template's layout."""
    params = {"customer": _opt(customer), "stage": stage if stage in STAGE_NAMES else None,
              "created_from": _day(created_from), "created_to": _day(created_to)}  # fmt: skip
    return _sheet(request, ORDERS_TEMPLATE, fmt, params)


@router.get("/backlog/export.{fmt}")
def backlog_file(
    request: Request, fmt: Sheet, customer: Text = "", product: Text = "", as_of: Text = ""
) -> Response:
    params = {"customer": _opt(customer), "product": _opt(product), "as_of": _as_of(as_of)}
    return _sheet(request, BACKLOG, fmt, params)


@router.get("/reports/sales.{fmt}")
def sales_file(
    request: Request, fmt: Sheet, year: Year = None, currency: Text = "",
    group_by: Grouping = "month",
) -> Response:  # fmt: skip
    params = {"year": year, "currency": _opt(currency.upper()), "group_by": group_by}
    return _sheet(request, SALES, fmt, params)


@router.get("/reports/lead-times.{fmt}")
def lead_times_file(request: Request, fmt: Sheet, year: Year = None) -> Response:
    return _sheet(request, LEAD_TIMES, fmt, {"year": year})


@router.get("/customers/{name}/statement.pdf")
def statement_file(
    request: Request, name: Annotated[CleanText, Path(min_length=1, max_length=200)]
) -> Response:
    """The customer's statement up to today, in the pages' language."""
    if principal_of(request) is None:
        return to_login(request)
    arguments = {"worker": worker_of(request), "name": name}
    whole = {"period_from": None, "period_to": None}
    return statement_document(_in_page_language(request), arguments, whole)


@router.get("/orders/{ref}/shipments/{sid}/{kind}.pdf")
def shipping_file(
    request: Request,
    ref: Annotated[CleanText, Path(max_length=80)],
    sid: Annotated[CleanText, Path(min_length=1, max_length=64)],
    kind: Literal["dispatch-note", "packing-list"],
) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    ledger = ledger_of(request)
    try:
        order = ledger.get_order(resolve_order_id(ref))
    except OrderNotFound:
        return page(request, "not_found.html", who, 404, what=ref)
    if sid not in order.shipments:
        return refused(request, 404, "error.not_found", "error.no_page", sid)
    document: DocumentKind = "dispatch_note" if kind == "dispatch-note" else "packing_list"
    body = shipping_pdf(order, sid, document, company_of(ledger.settings), lang_of(request))
    return pdf_response(body, f"{kind}-{order.number}-{sid}.pdf")


def _in_page_language(request: Request) -> Request:
    """The request with ``Accept-Language`` set to the pages' language (cookie first)."""
    scope = dict(request.scope)
    lang = lang_of(request)
    headers = [(k, v) for k, v in scope["headers"] if k != b"accept-language"]
    scope["headers"] = [*headers, (b"accept-language", lang.encode())]
    return Request(scope)
