"""Monthly demand series from the seasonal read model: by product, product
family, customer or transport mode, each month with its order count,
quantity and amount per currency (currencies are never added together).

A series runs from the first month it had an order to the current month,
months without orders counting zero; the current month is still partial.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from ledger.projections.framework import Filter, View
from ledger.projections.seasonal import DemandRow, family_of

DIMENSIONS = ("product", "family", "customer", "mode")
MEASURES = ("orders", "quantity", "amount")
MAX_MONTHS = 120  # the longest history a series is read and forecast from
FAMILY_NAMES = 3  # product names in a family's label


@dataclass
class Figures:
    """One month of one series; ``orders_in`` counts the orders per currency,
    so a currency leaves ``amounts`` with its last order (see ``add``)."""

    orders: int = 0
    quantity: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    orders_in: Counter[str] = field(default_factory=Counter)

    def plain(self) -> dict[str, object]:
        amounts = {cur: str(amount) for cur, amount in sorted(self.amounts.items())}
        return {"orders": self.orders, "quantity": self.quantity, "amount": amounts}

    def copy(self) -> Figures:
        return Figures(self.orders, self.quantity, dict(self.amounts), Counter(self.orders_in))


@dataclass
class Series:
    """A series' figures by month ("YYYY-MM"), only months with orders."""

    key: str
    label: str
    months: dict[str, Figures] = field(default_factory=dict)
    products: Counter[str] = field(default_factory=Counter)  # a family's product names, by orders

    @property
    def first_month(self) -> str:
        return min(self.months)

    @property
    def currencies(self) -> list[str]:
        return sorted({cur for figures in self.months.values() for cur in figures.amounts})

    def total(self, measure: str) -> int:
        """Orders or quantity over every month (amounts are per currency)."""
        name = "quantity" if measure == "quantity" else "orders"
        return sum(getattr(figures, name) for figures in self.months.values())

    def copy(self) -> Series:
        months = {month: figures.copy() for month, figures in self.months.items()}
        return Series(self.key, self.label, months, Counter(self.products))


class SeriesSource(Protocol):
    """Where a report finds its series: summed from rows (``RowsSeries``) or
    kept up to date in memory (``seasonal_replica``)."""

    def series(self, by: str, key: str | None = None) -> dict[str, Series]:
        """Every series of the dimension ``by`` (only ``key``'s if given)."""
        ...


# -- months ---------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift(month: str, by: int) -> str:
    """The month ``by`` months after ``month`` (before, when negative)."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_span(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    count = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1
    return [shift(first, i) for i in range(max(count, 0))]


# -- reading and summing ----------------------------------------------------------------


def demand_rows(
    view: View[DemandRow], by: str, key: str | None = None, since: str | None = None
) -> list[DemandRow]:
    """The rows that count as demand (of one customer or mode if ``key``
    names one: the view can filter those), received in ``since`` or later."""
    filters: list[Filter] = [("status", "=", "open")]
    if key is not None and by in ("customer", "mode"):
        filters.append((by, "=", key))
    if since is not None:
        filters.append(("month", ">=", since))
    return view.select(filters)


def contributions(row: DemandRow, by: str) -> Iterator[tuple[str, str, int, dict[str, Decimal]]]:
    """(series key, label, quantity, amount per currency) the row adds."""
    cur = row.currency
    if by == "product":
        for sku, line in row.lines.items():
            yield sku, line.name, line.quantity, {cur: Decimal(line.amount)}
        return
    if by == "family":
        families: dict[str, tuple[int, Decimal, list[str]]] = {}
        for sku, line in row.lines.items():
            qty, amount, names = families.get(family_of(sku), (0, Decimal(0), []))
            families[family_of(sku)] = (
                qty + line.quantity,
                amount + Decimal(line.amount),
                [*names, line.name],
            )
        for family, (qty, amount, names) in families.items():
            yield family, " / ".join(names), qty, {cur: amount}
        return
    key = row.customer if by == "customer" else row.mode
    quantity = sum(line.quantity for line in row.lines.values())
    amount = sum((Decimal(line.amount) for line in row.lines.values()), Decimal(0))
    yield key, key, quantity, {cur: amount}


def tally(rows: Iterable[DemandRow], by: str, key: str | None = None) -> dict[str, Series]:
    """Every series of the dimension ``by`` (only ``key``'s if given)."""
    found: dict[str, Series] = {}
    for row in rows:
        if key is None or _may_hold(row, by, key):
            add(found, row, by, 1, key)
    return found


def add(
    found: dict[str, Series],
    row: DemandRow,
    by: str,
    sign: int,
    key: str | None = None,
    *,
    shared: bool = False,
) -> None:
    """Add the row's contributions to the series in ``found`` (``sign`` -1:
    take them away again; a month, currency or series left without orders
    goes, so adding and taking away leaves what summing afresh gives).

    ``shared``: readers may hold the series: a changed one is replaced by a
    changed copy, never changed where it is."""
    for name, label, quantity, amounts in contributions(row, by):
        if key is not None and name != key:
            continue
        series = found.get(name)
        if series is None:
            series = found[name] = Series(name, label)
        elif shared:
            series = found[name] = series.copy()
        figures = series.months.setdefault(row.month, Figures())
        figures.orders += sign
        figures.quantity += sign * quantity
        for cur, amount in amounts.items():
            figures.amounts[cur] = figures.amounts.get(cur, Decimal(0)) + sign * amount
            figures.orders_in[cur] += sign
            if not figures.orders_in[cur]:
                del figures.amounts[cur], figures.orders_in[cur]
        if not figures.orders:
            del series.months[row.month]
        if by == "family":
            series.products.update({name: sign for name in label.split(" / ")})
            series.products = +series.products
            _name_family(series)
        if not series.months:
            del found[name]


def _name_family(series: Series) -> None:
    """A family's label: its code and its most ordered products."""
    top = [name for name, _ in series.products.most_common(FAMILY_NAMES)]
    more = "…" if len(series.products) > FAMILY_NAMES else ""
    series.label = f"{series.key} · {' / '.join(top)}{more}"


def _may_hold(row: DemandRow, by: str, key: str) -> bool:
    """Whether the row can add to the series ``key`` (a quick test first, as
    one series is asked for far more often than all)."""
    if by == "product":
        return key in row.lines
    if by == "family":
        return any(family_of(sku) == key for sku in row.lines)
    return True


class RowsSeries:
    """Series summed from the rows of a view, at each call."""

    def __init__(self, view: View[DemandRow], since: str | None = None) -> None:
        self.view, self.since = view, since

    def series(self, by: str, key: str | None = None) -> dict[str, Series]:
        return tally(demand_rows(self.view, by, key, self.since), by, key)


def values(series: Series, measure: str, months: Sequence[str], currency: str = "") -> list[float]:
    """The measure in each of ``months`` (zero where the series had no orders)."""
    out: list[float] = []
    for month in months:
        figures = series.months.get(month)
        if figures is None:
            out.append(0.0)
        elif measure == "amount":
            out.append(float(figures.amounts.get(currency, 0)))
        else:
            out.append(float(figures.orders if measure == "orders" else figures.quantity))
    return out


def history(series: Series, months: Sequence[str], current: str) -> list[dict[str, object]]:
    """Each month's figures beside the same month a year earlier (None before
    the series began); the current month is marked partial."""
    first = series.first_month
    out: list[dict[str, object]] = []
    for month in months:
        before = shift(month, -12)
        last_year = (
            {"month": before, **series.months.get(before, Figures()).plain()}
            if before >= first
            else None
        )
        figures = series.months.get(month, Figures()).plain()
        out.append({"month": month, **figures, "partial": month == current, "last_year": last_year})
    return out
