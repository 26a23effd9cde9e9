"""Seasonal demand: a row per order with what it asks for and when.

Demand counts an order in the month it was received (UTC), with its lines
as they stand after amendments, each line's amount rounded once to the
currency's minor unit. Like the sales report, a cancelled order asks for
nothing, and a split or merged order neither: its goods live on in the
orders that replaced them, which count themselves. The monthly series by
product, product family, customer or transport mode are sums over these
rows (``seasonal_series``).

A product's family is the first segment of its SKU (``LGT-PL-6060`` is in
family ``LGT``): the usual catalogue convention, and the demo's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.aggregates.order import Order
from ledger.aggregates.stages import WITHDRAWN, Status
from ledger.aggregates.values import line_amount
from ledger.projections.backlog_review import row_disposed
from ledger.projections.facts import replace
from ledger.projections.framework import Column
from ledger.projections.rowkit import StepModel
from ledger.projections.steps import Steps


def family_of(sku: str) -> str:
    """The product family: the SKU up to its first hyphen."""
    return sku.split("-", 1)[0]


@dataclass(frozen=True)
class DemandLine:
    """One ordered product: name, quantity and the line's rounded amount."""

    name: str
    quantity: int
    amount: str


@dataclass(frozen=True)
class DemandRow:
    """What one order asks for, in the month it was received."""

    order_id: str
    version: int
    month: str
    customer: str
    currency: str
    mode: str
    status: str = "open"
    lines: dict[str, DemandLine] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.status not in WITHDRAWN


def _lines(lines: Any, currency: str) -> dict[str, DemandLine]:
    out = {}
    for ln in lines:
        amount = line_amount(ln.quantity, Decimal(ln.unit_price), currency)
        out[ln.sku] = DemandLine(ln.name, ln.quantity, str(amount))
    return out


def _amended(row: DemandRow, e: Any) -> DemandRow:
    if e.lines is not None:
        row = replace(row, lines=_lines(e.lines, row.currency))
    if e.delivery is not None:
        row = replace(row, mode=e.delivery.transport_mode)
    return row


def _disposed(row: DemandRow, e: Any) -> DemandRow:
    """A backlog decision: cancelled when it ends the order; a discount's new
    unit prices make the lines' amounts (each rounded once, as always)."""
    row = row_disposed(row, e)
    if not e.prices:
        return row
    lines = dict(row.lines)
    for sku, price in e.prices.items():
        line = lines[sku]
        amount = line_amount(line.quantity, Decimal(price), row.currency)
        lines[sku] = replace(line, amount=str(amount))
    return replace(row, lines=lines)


STEPS: Steps[DemandRow] = (
    Steps[DemandRow]()
    .on(Order.OrderAmended, _amended)
    .on(Order.OrderCancelled, lambda r, e: replace(r, status=Status.CANCELLED))
    .on(Order.OrderSplit, lambda r, e: replace(r, status=Status.SPLIT))
    .on(Order.OrderMerged, lambda r, e: replace(r, status=Status.MERGED))
    .on(Order.BacklogDisposed, _disposed)
)


class SeasonalModel(StepModel[DemandRow]):
    """A demand row per order ever received."""

    name = "seasonal"
    topics = STEPS.topics()
    steps = STEPS
    columns = (
        Column("month", "text", lambda r: r.month),
        Column("customer", "text", lambda r: r.customer),
        Column("currency", "text", lambda r: r.currency),
        Column("mode", "text", lambda r: r.mode),
        Column("status", "text", lambda r: r.status),
    )

    def received(self, e: Any) -> DemandRow:
        return DemandRow(
            order_id=str(e.originator_id),
            version=e.originator_version,
            month=e.timestamp.strftime("%Y-%m"),
            customer=e.customer.name,
            currency=e.currency,
            mode=e.delivery.transport_mode,
            lines=_lines(e.lines, e.currency),
        )

    def from_plain(self, raw: dict[str, Any]) -> DemandRow:
        raw["lines"] = {sku: DemandLine(**line) for sku, line in raw["lines"].items()}
        return DemandRow(**raw)


SEASONAL = SeasonalModel()
