"""Reports, the complaint register, customer statements, shipments and the
audit archive (read models; any role)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from ledger.aggregates.values import FIRST_DAY, LAST_DAY
from ledger.api.deps import PrincipalDep
from ledger.api.documents import STATEMENT_PDF
from ledger.api.exports import listing_get
from ledger.api.params import CleanText
from ledger.api.read_models import (
    VIEW_ERRORS,
    After,
    Customer,
    Limit,
    Offset,
    Open,
    PageOut,
    Wait,
    WorkerDep,
    caught_up,
    invalid,
)
from ledger.api.responses import FastJSON
from ledger.exports.registers import (
    ARCHIVE,
    COMPLAINTS,
    LEAD_TIMES,
    SALES,
    SHIPMENTS,
    STATEMENT,
)
from ledger.persistence.personal import open_sealed
from ledger.projections.archive import archive_index
from ledger.projections.complaints import complaint_register
from ledger.projections.lead_times import lead_times
from ledger.projections.reports import sales_report
from ledger.projections.shipments import shipment_list
from ledger.projections.statements import statement
from ledger.worker import Worker

router = APIRouter(tags=["read models"], responses=VIEW_ERRORS)
Text = Annotated[CleanText | None, Query(min_length=1, max_length=200)]
Year = Annotated[int | None, Query(ge=FIRST_DAY.year, le=LAST_DAY.year)]
GroupBy = Annotated[CleanText, Query(max_length=20, description="month|customer|product|channel")]


def answer(
    worker: Worker, name: str, after: int | None, wait: float, query: Callable[[Any], Any]
) -> Response:
    """``query(view)`` once the view has ``after``, its sealed personal texts
    opened (``"[erased]"`` once erased); its ValueError is a 422."""
    caught_up(worker, name, after, wait)
    try:
        found = query(worker.views[name])
    except ValueError as error:
        raise invalid(str(error)) from None
    return FastJSON(open_sealed(found, worker.ledger.personal_keys))


@listing_get(router, "/reports/sales", SALES, response_model=PageOut)
def sales(
    worker: WorkerDep, principal: PrincipalDep, group_by: GroupBy = "month",
    year: Year = None, customer: Customer = None, channel: Text = None, product: Text = None,
    currency: Text = None, after: After = None, wait: Wait = 5.0, limit: Limit = 50,
    offset: Offset = 0,
) -> Response:  # fmt: skip
    """Orders, quantity and amount by month (with the same month last year),
    customer, product or channel; this month beside the same month last year."""
    today = worker.now().date()
    return answer(worker, "reports", after, wait, lambda view: sales_report(
        view, group_by=group_by, year=year, customer=customer, channel=channel,
        product=product, currency=currency, today=today, limit=limit, offset=offset))  # fmt: skip


@listing_get(router, "/reports/lead-times", LEAD_TIMES, response_model=Open)
def stage_lead_times(
    worker: WorkerDep, principal: PrincipalDep, year: Year = None, customer: Customer = None,
    channel: Text = None, after: After = None, wait: Wait = 5.0,
) -> Response:  # fmt: skip
    """Median and p90 days from received to each stage."""
    return answer(worker, "reports", after, wait, lambda view: lead_times(
        view, year=year, customer=customer, channel=channel))  # fmt: skip


@listing_get(router, "/complaints", COMPLAINTS, response_model=PageOut)
def complaints(
    worker: WorkerDep, principal: PrincipalDep, status: Text = None, kind: Text = None,
    severity: Text = None, customer: Customer = None, number: Text = None,
    after: After = None, wait: Wait = 5.0, limit: Limit = 50, offset: Offset = 0,
) -> Response:  # fmt: skip
    """Complaints and quality issues (``kind``: complaint/quality), ``status``
    open/resolved, severity, resolution, cost, time to resolve."""
    return answer(worker, "complaints", after, wait, lambda view: complaint_register(
        view, status=status, kind=kind, severity=severity, customer=customer,
        number=number, limit=limit, offset=offset))  # fmt: skip


@listing_get(
    router, "/customers/{name}/statement", STATEMENT, pdf=STATEMENT_PDF, response_model=PageOut
)
def customer_statement(
    worker: WorkerDep, principal: PrincipalDep,
    name: Annotated[CleanText, Path(min_length=1, max_length=200)],
    open_only: bool = False, overdue_only: bool = False,
    after: After = None, wait: Wait = 5.0, limit: Limit = 50, offset: Offset = 0,
) -> Response:  # fmt: skip
    """Per order of the customer: invoiced, credited, paid, outstanding, due."""
    today = worker.now().date()
    return answer(worker, "statements", after, wait, lambda view: statement(
        view, name, now=today, open_only=open_only, overdue_only=overdue_only,
        limit=limit, offset=offset))  # fmt: skip


@listing_get(router, "/shipments", SHIPMENTS, response_model=PageOut)
def shipments(
    worker: WorkerDep, principal: PrincipalDep, status: Text = None,
    exception_only: bool = False, carrier: Text = None, customer: Customer = None,
    number: Text = None, after: After = None, wait: Wait = 5.0, limit: Limit = 50,
    offset: Offset = 0,
) -> Response:  # fmt: skip
    """Shipments: transit status, open exceptions, document checklist."""
    return answer(worker, "shipments", after, wait, lambda view: shipment_list(
        view, status=status, exception_only=exception_only, carrier=carrier,
        customer=customer, number=number, limit=limit, offset=offset))  # fmt: skip


@listing_get(router, "/audit/archive", ARCHIVE, response_model=PageOut)
def audit_archive(
    worker: WorkerDep, principal: PrincipalDep,
    period: Annotated[CleanText | None, Query(description="YYYY or YYYY-MM", max_length=7)] = None,
    number: Text = None, customer: Customer = None, after: After = None, wait: Wait = 5.0,
    limit: Limit = 50, offset: Offset = 0,
) -> Response:  # fmt: skip
    """Archived orders by period (month or year), number and customer."""
    return answer(worker, "archive", after, wait, lambda view: archive_index(
        view, period=period, number=number, customer=customer, limit=limit,
        offset=offset))  # fmt: skip
