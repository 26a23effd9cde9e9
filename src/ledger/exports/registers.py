"""The registers as spreadsheets: sales and lead-time reports, complaints,
a customer's statement, shipments and the audit archive (see ``listings``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ledger.exports.listings import Listing, Params, fixed, joined
from ledger.exports.streams import Item, all_of, every_item, in_order
from ledger.formats.sheets import Column
from ledger.projections.archive import archive_index
from ledger.projections.complaints import complaint_register
from ledger.projections.framework import View
from ledger.projections.lead_times import lead_times
from ledger.projections.order_rows import MAX_LIMIT
from ledger.projections.reports import sales_report
from ledger.projections.shipments import shipment_list
from ledger.projections.statements import statement
from ledger.worker import Worker

# -- reports: summaries, a row per group (their JSON reads all rows of the period too)


def sales_rows(worker: Worker, p: Params) -> Iterator[Item]:
    view = worker.views["reports"]
    return all_of(lambda offset: sales_report(
        view, group_by=p.get("group_by") or "month", year=p.get("year"),
        customer=p.get("customer"), channel=p.get("channel"), product=p.get("product"),
        currency=p.get("currency"), limit=MAX_LIMIT, offset=offset))  # fmt: skip


_FIGURES = ("orders", "quantity", "amount", "cancelled")


def sales_columns(p: Params) -> Sequence[Column]:
    group = p.get("group_by") or "month"
    kinds = {"orders": "int", "quantity": "int", "amount": "money", "cancelled": "int"}
    columns = [Column(group), Column("currency")]
    columns += [Column(name, kinds[name]) for name in _FIGURES]  # type: ignore[arg-type]
    if group == "month":
        columns.append(Column("last_year.month"))
        columns += [Column(f"last_year.{n}", kinds[n]) for n in _FIGURES]  # type: ignore[arg-type]
    return columns


SALES = Listing(
    "sales", "reports", sales_columns, sales_rows, lambda p: p.get("group_by") or "month"
)


def lead_time_rows(worker: Worker, p: Params) -> Iterator[Item]:
    report = lead_times(
        worker.views["reports"], year=p.get("year"), customer=p.get("customer"),
        channel=p.get("channel"),
    )  # fmt: skip
    return iter(report["items"])


LEAD_TIMES = Listing(
    "lead-times",
    "reports",
    fixed(
        Column("stage"),
        Column("orders", "int"),
        Column("median_days", "number"),
        Column("p90_days", "number"),
        Column("median_step_days", "number"),
        Column("p90_step_days", "number"),
    ),
    lead_time_rows,
)


# -- complaints, statement, shipments, archive -------------------------------------


def complaint_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """Complaints and quality issues, newest first, as ``GET /complaints`` has them."""

    def page(v: View[Any]) -> Iterator[Item]:
        return all_of(lambda offset: complaint_register(
            v, status=p.get("status"), kind=p.get("kind"), severity=p.get("severity"),
            customer=p.get("customer"), number=p.get("number"), limit=MAX_LIMIT,
            offset=offset))  # fmt: skip

    def order(i: Item) -> tuple[str, str, str, str]:
        return (i["filed_at"], i["number"], i["kind"], i["id"])

    return in_order(every_item(worker.views["complaints"], page), order, descending=True)


COMPLAINTS = Listing(
    "complaints",
    "complaints",
    fixed(
        Column("id"),
        Column("kind"),
        Column("number"),
        Column("customer"),
        Column("severity"),
        Column("category"),
        Column("description"),
        Column("status"),
        Column("resolution"),
        Column("cost", "money"),
        Column("currency"),
        Column("filed_at", "datetime"),
        Column("resolved_at", "datetime"),
        Column("days_to_resolve", "number"),
        Column("order_id"),
    ),
    complaint_rows,
)


def statement_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """The customer's orders by number: invoiced, credited, paid, outstanding, due."""
    today = worker.now().date()

    def page(v: View[Any]) -> list[Item]:
        open_only, overdue_only = bool(p.get("open_only")), bool(p.get("overdue_only"))
        return list(statement(v, p["name"], now=today, open_only=open_only,
                              overdue_only=overdue_only, limit=MAX_LIMIT)["items"])  # fmt: skip

    return in_order(every_item(worker.views["statements"], page), lambda i: (i["number"],))


def _invoices_text(item: Item) -> str:
    return joined(f"{i['number']} {i['issued_on']} {i['amount']}" for i in item["invoices"])


STATEMENT = Listing(
    "statement",
    "statements",
    fixed(
        Column("number"),
        Column("status"),
        Column("currency"),
        Column("total", "money"),
        Column("invoiced", "money"),
        Column("credited", "money"),
        Column("paid", "money"),
        Column("outstanding", "money"),
        Column("due_date", "date"),
        Column("overdue", "bool"),
        Column("days_overdue", "int"),
        Column("invoices", get=_invoices_text),
        Column("order_id"),
    ),
    statement_rows,
    lambda p: str(p["name"]),
)


def shipment_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """Shipments by planned date, as ``GET /shipments`` has them."""

    def page(v: View[Any]) -> Iterator[Item]:
        return all_of(lambda offset: shipment_list(
            v, status=p.get("status"), exception_only=bool(p.get("exception_only")),
            carrier=p.get("carrier"), customer=p.get("customer"), number=p.get("number"),
            limit=MAX_LIMIT, offset=offset))  # fmt: skip

    def order(i: Item) -> tuple[str, str, str]:
        return (i["planned_date"], i["number"], i["shipment_id"])

    return in_order(every_item(worker.views["shipments"], page), order)


def _shipped_lines(item: Item) -> str:
    return joined(f"{sku} × {quantity}" for sku, quantity in item["lines"].items())


def _documents(item: Item) -> str:
    return joined(f"{d['kind']}: {d['status']}" for d in item["documents"])


SHIPMENTS = Listing(
    "shipments",
    "shipments",
    fixed(
        Column("shipment_id"),
        Column("number"),
        Column("customer"),
        Column("order_status"),
        Column("status"),
        Column("carrier"),
        Column("mode"),
        Column("export", "bool"),
        Column("planned_date", "date"),
        Column("reschedules", "int"),
        Column("transit_status"),
        Column("location"),
        Column("tracking_number"),
        Column("open_exception", "bool"),
        Column("lines", get=_shipped_lines),
        Column("documents_ready", "bool"),
        Column("documents", get=_documents),
        Column("dispatched_at", "datetime"),
        Column("delivered_at", "datetime"),
        Column("order_id"),
    ),
    shipment_rows,
)


def archive_rows(worker: Worker, p: Params) -> Iterator[Item]:
    """Archived orders by period, then number."""

    def page(v: View[Any]) -> list[Item]:
        return list(archive_index(v, period=p.get("period"), number=p.get("number"),
                             customer=p.get("customer"), limit=MAX_LIMIT)["items"])  # fmt: skip

    return in_order(every_item(worker.views["archive"], page), lambda i: (i["period"], i["number"]))


ARCHIVE = Listing(
    "archive",
    "archive",
    fixed(
        Column("number"),
        Column("customer"),
        Column("period"),
        Column("archive_ref"),
        Column("closed_as"),
        Column("currency"),
        Column("total", "money"),
        Column("archived_at", "datetime"),
        Column("order_id"),
    ),
    archive_rows,
)
