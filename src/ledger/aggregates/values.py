"""Small immutable value types of the order domain.

Sequences inside events and state are lists, never tuples: the JSON
transcoder turns tuples into lists, and an order rebuilt from its stored
events (or a snapshot) must compare equal to the live one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ledger.aggregates.privacy import ERASED as ERASED
from ledger.aggregates.privacy import Privacy

CHANNELS = ("phone", "email", "platform", "onsite", "wechat", "other")
TRANSPORT_MODES = ("road", "rail", "air", "sea", "express")
SEVERITIES = ("minor", "major", "critical")
RESOLUTIONS = ("return", "exchange", "repair", "compensation")
TRANSIT_STATUSES = ("in_transit", "delayed", "damaged", "lost")
TRANSIT_EXCEPTIONS = ("delayed", "damaged", "lost")
DOCUMENT_KINDS = (
    "bill_of_lading",
    "waybill",
    "customs_declaration",
    "dispatch_note",
    "packing_list",
)
DOCUMENT_STATUSES = ("drafted", "reviewed", "submitted", "cleared", "rejected")
PAYMENT_METHODS = ("bank_transfer", "letter_of_credit", "cash", "cheque", "online", "other")

# -- money ------------------------------------------------------------------------

MAX_QUANTITY = 10**9
MAX_AMOUNT = Decimal(10) ** 13
"""Every amount (a line's, an order's total, an invoice) stays below this."""
UNIT_PRICE_PLACES = 4
# ISO 4217 minor units of the currencies that do not have 2; every other code has 2.
_WHOLE = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THOUSANDTHS = "BHD IQD JOD KWD LYD OMR TND"
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_WHOLE.split(), 0),
    **dict.fromkeys(_THOUSANDTHS.split(), 3),
}
MAX_MINOR_UNIT = max(MINOR_UNITS.values())


_QUANTUM = {places: Decimal(1).scaleb(-places) for places in (0, 2, 3)}


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's smallest unit: 0 for JPY, 3 for KWD, else 2."""
    return MINOR_UNITS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit, as invoices are:
    the one rounding every derived amount goes through."""
    return amount.quantize(_QUANTUM[MINOR_UNITS.get(currency, 2)], rounding=ROUND_HALF_UP)


def line_amount(quantity: int, unit_price: Decimal, currency: str) -> Decimal:
    """What ``quantity`` units of a line are worth: rounded once, per line."""
    return round_money(unit_price * quantity, currency)


def lines_total(lines: Iterable[Line], currency: str) -> Decimal:
    """An order's total: the sum of its line amounts."""
    return sum(
        (line_amount(line.quantity, line.unit_price, currency) for line in lines), Decimal(0)
    )


def in_minor_units(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` is a whole number of the currency's minor units."""
    return amount == round_money(amount, currency)


def unit_price_text(unit_price: Decimal) -> str:
    """A unit price as shown everywhere: with its 4 decimals ("1.5000")."""
    return str(unit_price.quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES)))


# -- business dates ----------------------------------------------------------------

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
"""Every business date (requested, promised, planned, issued, received, an
ETA, a time-travel moment) lies in this range: anything outside is a typo,
and keeping dates here keeps every date sum far from the calendar's ends."""


def within_business_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def add_days(day: date, days: int) -> date:
    """``day`` + ``days``, held at the calendar's ends: a date recorded before
    the range was enforced (9999-12-31) must not fail every read that adds to it."""
    if days >= 0:
        return day + timedelta(days=min(days, (date.max - day).days))
    return day - timedelta(days=min(-days, (day - date.min).days))


@dataclass(frozen=True)
class Money:
    """An amount in a currency; the amount is always a Decimal."""

    amount: Decimal
    currency: str = "CNY"
    privacy = Privacy(public=("currency",))

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)


@dataclass(frozen=True)
class Line:
    """One ordered product: what, how many, at what unit price. Its amount
    depends on the order's currency: see ``line_amount``."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    model: str = ""
    spec: str = ""
    # Product data from the catalogue.
    privacy = Privacy(public=("sku", "name", "model", "spec"))


@dataclass(frozen=True)
class SkuQty:
    """A quantity of one SKU: a shipment line, a split part line, a stock move."""

    sku: str
    quantity: int
    privacy = Privacy(public=("sku",))


@dataclass(frozen=True)
class Customer:
    """Who ordered. Phone, email and address are personal data."""

    name: str
    phone: str = ""
    email: str = ""
    address: str = ""
    # The name stays readable: it names the customer's key, orders and statements.
    privacy = Privacy(personal=("phone", "email", "address"), public=("name",))


@dataclass(frozen=True)
class Delivery:
    """Where and how the goods go. Consignee and phone are personal data."""

    address: str
    consignee: str
    phone: str = ""
    transport_mode: str = "road"
    privacy = Privacy(personal=("address", "consignee", "phone"), public=("transport_mode",))


@dataclass(frozen=True)
class PaymentTerms:
    """How and when the customer pays; prepayment_percent of the total may be
    invoiced before anything is delivered."""

    method: str = "bank_transfer"
    due_days: int = 30
    prepayment_percent: Decimal = Decimal(0)
    privacy = Privacy(public=("method",))


@dataclass(frozen=True)
class PurchaseItem:
    """A part bought from a supplier for this order."""

    part: str
    quantity: int
    unit_cost: Decimal = Decimal(0)
    privacy = Privacy(public=("part",))


VALUE_TYPES: tuple[type, ...] = (
    Money,
    Line,
    SkuQty,
    Customer,
    Delivery,
    PaymentTerms,
    PurchaseItem,
)
