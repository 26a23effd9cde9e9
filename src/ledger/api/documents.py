"""Printable documents over HTTP: the customer statement as ``?format=pdf``
(with ``from``/``to``) and a shipment's dispatch note and packing list.

PDFs are in Chinese unless ``Accept-Language`` prefers English: the
statement goes to the customer, the dispatch note with the goods.
"""

from __future__ import annotations

import inspect
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from ledger.aggregates.values import FIRST_DAY, LAST_DAY
from ledger.api.exports import PdfAnswer, disposition, file_name, language
from ledger.api.read_models import caught_up, invalid
from ledger.exports.accounts import accounts
from ledger.formats.pdf import Company
from ledger.formats.statement_pdf import sections, statement_pdf
from ledger.settings import Settings
from ledger.worker import Worker

PDF_HEADERS = {"Cache-Control": "no-store"}


def company_of(settings: Settings) -> Company:
    return Company(
        settings.company_name, settings.company_address, settings.company_phone,
        settings.company_email, settings.company_tax_id, settings.company_bank,
    )  # fmt: skip


def pdf_response(body: bytes, filename: str) -> Response:
    headers = {**PDF_HEADERS, "Content-Disposition": disposition(filename)}
    return Response(body, media_type="application/pdf", headers=headers)


def check_period(start: date | None, end: date) -> None:
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise invalid(f"{name} must lie between {FIRST_DAY} and {LAST_DAY}", {name: str(day)})
    if start is not None and start > end:
        raise invalid("from is after to", {"from": str(start), "to": str(end)})


def statement_document(
    request: Request, arguments: dict[str, Any], extras: dict[str, Any]
) -> Response:
    """The customer's statement for ``from``..``to`` (default: everything up to today)."""
    worker: Worker = arguments["worker"]
    name: str = arguments["name"]
    caught_up(worker, "statements", arguments.get("after"), arguments.get("wait", 5.0))
    today = worker.now().date()
    start, end = extras["period_from"], extras["period_to"] or today
    check_period(start, end)
    view = worker.views["statements"]
    parts = sections(accounts(worker.ledger, view, name, today), start, end)
    lang = language(request, default="zh")
    body = statement_pdf(name, start, end, today, parts, company_of(worker.settings), lang)
    return pdf_response(body, file_name("statement", name, day=end, ext="pdf"))


def _day_param(name: str, alias: str, what: str) -> inspect.Parameter:
    annotation = Annotated[date | None, Query(alias=alias, description=what)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


STATEMENT_PDF = PdfAnswer(
    (
        _day_param("period_from", "from", "with format=pdf: the period's first day"),
        _day_param("period_to", "to", "with format=pdf: the period's last day (default today)"),
    ),
    statement_document,
)
