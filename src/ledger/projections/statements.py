"""Customer statements: per customer and order, what was invoiced, credited
and paid, what is outstanding and when it falls due.

Payments and credit notes settle invoices oldest first, so the due date
of an order is that of its earliest invoice not yet covered (issued on +
the agreed payment days). Whether it is overdue depends on the day, so
that is worked out when the statement is read, from the caller's ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.aggregates.order import Order
from ledger.aggregates.stages import WITHDRAWN, Status
from ledger.aggregates.values import add_days, lines_total
from ledger.projections.facts import replace
from ledger.projections.framework import Column, Filter, View
from ledger.projections.order_rows import flag
from ledger.projections.rowkit import (
    StepModel,
    add_money,
    page_of,
    status_events,
    with_status,
)
from ledger.projections.steps import Steps


@dataclass(frozen=True)
class Invoice:
    number: str
    amount: str
    issued_on: str


@dataclass(frozen=True)
class StatementRow:
    """An order's account: its total, invoices, credits and payments."""

    order_id: str
    number: str
    customer: str
    currency: str
    version: int
    total: str
    status: str = Status.RECEIVED
    due_days: int | None = None
    invoices: tuple[Invoice, ...] = ()
    credited: str = "0"
    paid: str = "0"

    @property
    def invoiced(self) -> Decimal:
        return sum((Decimal(i.amount) for i in self.invoices), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return self.invoiced - Decimal(self.credited) - Decimal(self.paid)

    @property
    def listed(self) -> bool:
        return (
            bool(self.invoices) or self.status not in WITHDRAWN
        )  # listed unless withdrawn with no money moved


def due_date(row: StatementRow) -> date | None:
    """When the earliest invoice not covered by payments and credits is due."""
    if row.outstanding <= 0 or row.due_days is None:
        return None
    covered = Decimal(row.credited) + Decimal(row.paid)
    for invoice in sorted(row.invoices, key=lambda i: i.issued_on):
        covered -= Decimal(invoice.amount)
        if covered < 0:
            return add_days(date.fromisoformat(invoice.issued_on), row.due_days)
    return None


def _total(lines: Any, currency: str) -> str:
    return str(lines_total(lines, currency))


def _add(amount: str, more: Decimal) -> str:
    return str(Decimal(amount) + more)


STEPS: Steps[StatementRow] = (
    Steps[StatementRow]()
    .on_each(status_events(Order.OrderConfirmed), with_status)
    .on(
        Order.OrderAmended,
        lambda r, e: r if e.lines is None else replace(r, total=_total(e.lines, r.currency)),
    )
    .on(
        Order.OrderConfirmed,
        lambda r, e: replace(r, status=Status.CONFIRMED, due_days=e.payment_terms.due_days),
    )
    .on(
        Order.OrderInvoiced,
        lambda r, e: replace(
            r,
            invoices=(
                *r.invoices,
                Invoice(e.invoice_number, str(e.amount), e.issued_on.isoformat()),
            ),
        ),
    )
    .on(Order.CreditNoteIssued, lambda r, e: replace(r, credited=_add(r.credited, e.amount)))
    .on(Order.PaymentReceived, lambda r, e: replace(r, paid=_add(r.paid, e.amount)))
)


class StatementsModel(StepModel[StatementRow]):
    """A row per order ever received."""

    name = "statements"
    steps = STEPS
    topics = STEPS.topics()
    columns = (
        Column("number", "text", lambda r: r.number),
        Column("customer", "text", lambda r: r.customer),
        Column("listed", "int", lambda r: flag(r.listed)),
        Column("open", "int", lambda r: flag(r.outstanding != 0)),
    )

    def received(self, e: Any) -> StatementRow:
        return StatementRow(
            str(e.originator_id),
            e.number,
            e.customer.name,
            e.currency,
            e.originator_version,
            _total(e.lines, e.currency),
        )

    def from_plain(self, raw: dict[str, Any]) -> StatementRow:
        invoices = tuple(Invoice(**i) for i in raw.pop("invoices"))
        return StatementRow(**raw, invoices=invoices)


STATEMENTS = StatementsModel()


def _today(now: date) -> date:
    return now.date() if isinstance(now, datetime) else now


def statement_line(row: StatementRow, today: date) -> dict[str, Any]:
    due = due_date(row)
    late = None if due is None or due >= today else (today - due).days
    return {
        "order_id": row.order_id,
        "number": row.number,
        "status": row.status,
        "currency": row.currency,
        "total": row.total,
        "invoiced": str(row.invoiced),
        "credited": row.credited,
        "paid": row.paid,
        "outstanding": str(row.outstanding),
        "due_date": None if due is None else due.isoformat(),
        "overdue": late is not None,
        "days_overdue": late,
        "invoices": [i.__dict__ for i in row.invoices],
    }


AMOUNTS = ("total", "invoiced", "credited", "paid", "outstanding")


def _totals(lines: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per currency: each amount summed, and the outstanding part that is overdue."""
    totals: dict[str, dict[str, str]] = {}
    for line in lines:
        total = totals.setdefault(line["currency"], {})
        for name in AMOUNTS:
            add_money(total, name, line[name])
        add_money(total, "overdue", line["outstanding"] if line["overdue"] else "0")
    return totals


def statement(
    view: View[StatementRow],
    customer: str,
    *,
    now: date,
    open_only: bool = False,
    overdue_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The customer's orders (by number) with invoiced, credited, paid,
    outstanding and due date, and totals per currency over all of them.
    ``now`` (a date or datetime) decides what is overdue."""
    if not customer:
        raise ValueError("a statement needs a customer")
    today = _today(now)
    filters: list[Filter] = [("customer", "=", customer), ("listed", "=", 1)]
    if open_only or overdue_only:
        filters.append(("open", "=", 1))
    lines = [statement_line(row, today) for row in view.select(filters, order_by=("number",))]
    if overdue_only:
        lines = [line for line in lines if line["overdue"]]
    return page_of(
        lines, limit, offset, customer=customer, as_of=today.isoformat(), totals=_totals(lines)
    )


def customer_balances(
    view: View[StatementRow],
    *,
    now: date,
    customer: str | None = None,
    overdue_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Per customer and currency: orders with a balance, outstanding, overdue
    and the earliest due date — customers owing money, by name."""
    today = _today(now)
    filters: list[Filter] = [("open", "=", 1)]
    if customer is not None:
        filters.append(("customer", "=", customer))
    balances: dict[tuple[str, str], dict[str, Any]] = {}
    for row in view.select(filters):
        line = statement_line(row, today)
        key = (row.customer, row.currency)
        entry = balances.setdefault(
            key, {"customer": key[0], "currency": key[1], "orders": 0, "earliest_due": None}
        )
        entry["orders"] += 1
        add_money(entry, "outstanding", line["outstanding"])
        add_money(entry, "overdue", line["outstanding"] if line["overdue"] else "0")
        due = line["due_date"]
        if due is not None and (entry["earliest_due"] is None or due < entry["earliest_due"]):
            entry["earliest_due"] = due
    items = [balances[k] for k in sorted(balances)]
    if overdue_only:
        items = [i for i in items if Decimal(i["overdue"]) > 0]
    return page_of(items, limit, offset, as_of=today.isoformat())
