"""Small immutable value types of the order domain.

Sequences inside events and state are lists, never tuples: the JSON
transcoder turns tuples into lists, and an order rebuilt from its stored
events (or a snapshot) must compare equal to the live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ledger.aggregates.privacy import ERASED as ERASED
from ledger.aggregates.privacy import Privacy

CHANNELS = ("phone", "email", "platform", "onsite")
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
    """One ordered product: what, how many, at what unit price."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    model: str = ""
    spec: str = ""
    # Product data from the catalogue.
    privacy = Privacy(public=("sku", "name", "model", "spec"))

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


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
