"""The printable customer statement (对账单) for a period.

Its orders are the customer's orders on the statements read model
(``ledger.exports.accounts``); each order's invoices (on their issue date),
credit notes (on the date the command gave, else the day it was recorded)
and payments (on their date) come from the order's own events. Per currency: the balance before the
period, what the period invoiced, credited and received, order by order
with a running balance, and the balance at its end. Over all time up to
today the figures equal the read model's totals: invoiced, credited, paid,
and outstanding as the closing balance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.formats.pdf import (
    CONTENT_WIDTH,
    Company,
    amount,
    build,
    company_header,
    grid,
    label,
    space,
    text,
    together,
)

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

KINDS = ("invoice", "credit_note", "payment")


@dataclass(frozen=True)
class Entry:
    """One movement on an order's account; invoices add, the others subtract."""

    day: date
    kind: str
    reference: str
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        return self.amount if self.kind == "invoice" else -self.amount


@dataclass(frozen=True)
class Account:
    number: str
    currency: str
    total: Decimal
    entries: tuple[Entry, ...]


def _recorded_day(event: Any) -> date:
    given = (getattr(event, "meta", None) or {}).get("occurred_at")
    return datetime.fromisoformat(given).date() if given else event.timestamp.date()


def entries_of(events: Iterable[Any]) -> tuple[Entry, ...]:
    found = []
    for event in events:
        name = type(event).__name__
        if name == "OrderInvoiced":
            found.append(Entry(event.issued_on, "invoice", event.invoice_number, event.amount))
        elif name == "CreditNoteIssued":
            day = _recorded_day(event)
            found.append(Entry(day, "credit_note", event.credit_note_number, event.amount))
        elif name == "PaymentReceived":
            found.append(Entry(event.received_on, "payment", event.reference, event.amount))
    return tuple(sorted(found, key=lambda e: (e.day, KINDS.index(e.kind), e.reference)))


@dataclass
class OrderPart:
    account: Account
    opening: Decimal
    entries: list[Entry]

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((e.signed for e in self.entries), Decimal(0))


@dataclass
class Section:
    """One currency's part of the statement."""

    currency: str
    opening: Decimal = Decimal(0)
    totals: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(KINDS, Decimal(0)))
    orders: list[OrderPart] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        t = self.totals
        return self.opening + t["invoice"] - t["credit_note"] - t["payment"]


def sections(accounts: Iterable[Account], start: date | None, end: date) -> list[Section]:
    """Per currency: opening balance, the period's totals and its orders (those
    with a movement in the period or a balance)."""
    found: dict[str, Section] = {}
    for account in accounts:
        before = [e for e in account.entries if start is not None and e.day < start]
        within = [e for e in account.entries if (start is None or e.day >= start) and e.day <= end]
        part = OrderPart(account, sum((e.signed for e in before), Decimal(0)), within)
        if not within and part.opening == 0:
            continue
        section = found.setdefault(account.currency, Section(account.currency))
        section.opening += part.opening
        for entry in within:
            section.totals[entry.kind] += entry.amount
        section.orders.append(part)
    return [found[c] for c in sorted(found)]


# -- layout -----------------------------------------------------------------------

_WIDTHS = [0.14, 0.16, 0.22, 0.16, 0.16, 0.16]


def _summary(section: Section, lang: str) -> Flowable:
    cur = section.currency
    rows = [
        (label("opening", lang), section.opening),
        (label("invoiced", lang), section.totals["invoice"]),
        (label("credited", lang), section.totals["credit_note"]),
        (label("paid", lang), section.totals["payment"]),
        (label("closing", lang), section.closing),
    ]
    cells = [[text(name, "cell"), text(amount(value, cur), "number")] for name, value in rows]
    return grid(cells, [CONTENT_WIDTH * 0.4, CONTENT_WIDTH * 0.25], header=False)


def _order_rows(part: OrderPart, cur: str, lang: str) -> list[list[Any]]:
    account = part.account
    title = (
        label("order", lang, number=account.number)
        + "  ·  "
        + label("order_total", lang, total=amount(account.total, cur))
    )
    rows: list[list[Any]] = [[text(title, "cell"), "", "", "", "", ""]]
    balance = part.opening
    if part.opening:
        rows.append(["", text(label("brought_forward", lang), "cell"), "", "", "",
                     text(amount(balance, cur), "number")])  # fmt: skip
    for e in part.entries:
        balance += e.signed
        debit = amount(e.amount, cur) if e.kind == "invoice" else ""
        credit = "" if e.kind == "invoice" else amount(e.amount, cur)
        rows.append([text(e.day.isoformat(), "cell"), text(label(e.kind, lang), "cell"),
                     text(e.reference, "cell"), text(debit, "number"), text(credit, "number"),
                     text(amount(balance, cur), "number")])  # fmt: skip
    rows.append(["", text(label("order_balance", lang), "cell"), "", "", "",
                 text(amount(part.closing, cur), "number")])  # fmt: skip
    return rows


def _details(section: Section, lang: str) -> Flowable:
    names = ("date", "document", "reference", "debit", "credit", "balance")
    rows: list[list[Any]] = [[text(label(n, lang), "cell") for n in names]]
    spans: list[Any] = []
    for part in section.orders:
        spans.append(("SPAN", (0, len(rows)), (-1, len(rows))))  # the order's title row
        rows += _order_rows(part, section.currency, lang)
        spans.append(("SPAN", (1, len(rows) - 1), (4, len(rows) - 1)))  # its balance row
        if part.opening:  # the brought-forward row
            spans.append(
                (
                    "SPAN",
                    (1, len(rows) - len(part.entries) - 2),
                    (4, len(rows) - len(part.entries) - 2),
                )
            )
    table = grid(rows, [CONTENT_WIDTH * w for w in _WIDTHS])
    table.setStyle(spans)
    return table


def statement_pdf(
    customer: str, start: date | None, end: date, today: date, parts: list[Section],
    company: Company, lang: str,
) -> bytes:  # fmt: skip
    """The statement of ``parts`` (``sections``) as PDF bytes."""
    title = label("statement", lang)
    period = f"{start.isoformat()} – {end.isoformat()}" if start else label("up_to", lang, end=end)
    story: list[Flowable] = company_header(company, title)
    story += [
        text(f"{label('customer', lang)}: {customer}"),
        text(f"{label('period', lang)}: {period}"),
        text(label("printed", lang, day=today.isoformat()), "small"),
    ]
    if not parts:
        story += [space(6), text(label("nothing", lang))]
    for section in parts:
        heading = f"{label('currency', lang)}: {section.currency}"
        story += [together([text(heading, "heading"), _summary(section, lang)]), space(8)]
        if section.orders:
            story.append(_details(section, lang))
    story += [space(12), text(label("confirm", lang), "small"), space(18),
              text(label("customer_sign", lang) + "：" + "_" * 30)]  # fmt: skip
    return build(story, lang, f"{title} {customer}")
