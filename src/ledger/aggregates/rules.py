"""Business rules about the shape of command arguments, named as sentences.

Each raises ``DomainError`` with a stable code; none changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.aggregates.errors import DomainError
from ledger.aggregates.values import (
    CHANNELS,
    DOCUMENT_KINDS,
    FIRST_DAY,
    LAST_DAY,
    MAX_AMOUNT,
    MAX_QUANTITY,
    PAYMENT_METHODS,
    RESOLUTIONS,
    SEVERITIES,
    TRANSIT_STATUSES,
    TRANSPORT_MODES,
    Delivery,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
    in_minor_units,
    line_amount,
    minor_unit,
    within_business_range,
)

if TYPE_CHECKING:
    from ledger.aggregates.state import LineState, ShipmentState

__all__ = [
    "CHANNELS",
    "DOCUMENT_KINDS",
    "PAYMENT_METHODS",
    "RESOLUTIONS",
    "SEVERITIES",
    "TRANSIT_STATUSES",
    "TRANSPORT_MODES",
]

CHECK_AREAS = ("customer", "product", "delivery")
DOCUMENT_FLOW = {
    "drafted": ("reviewed", "rejected"),
    "reviewed": ("submitted", "rejected"),
    "submitted": ("cleared", "rejected"),
    "rejected": ("drafted",),
    "cleared": (),
}
CARRIER_DOCUMENT = {"sea": "bill_of_lading"}  # every other mode travels on a waybill


def require_text(what: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("missing_value", f"{what} must not be empty", field=what)


def require_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise DomainError(
            f"invalid_{what.replace(' ', '_')}",
            f"{what} must be one of {', '.join(choices)}, not {value!r}",
            allowed=list(choices),
        )


def require_currency(currency: str) -> None:
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    ):
        raise DomainError(
            "invalid_currency", f"currency must be an ISO 4217 code, not {currency!r}"
        )


def require_quantity(quantity: int, what: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise DomainError("quantity_must_be_positive", f"{what} must be a positive whole number")
    if quantity > MAX_QUANTITY:
        raise DomainError("quantity_too_large", f"{what} must be at most {MAX_QUANTITY}")


def require_amount_not_negative(what: str, amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise DomainError("amount_must_not_be_negative", f"{what} must be a number ≥ 0")
    require_below_limit(what, amount)


def require_below_limit(field: str, amount: Decimal, what: str = "", **details: object) -> None:
    """Amounts stay below 10^13: beyond, no ledger, report or axis makes sense."""
    if amount >= MAX_AMOUNT:
        raise DomainError(
            "amount_too_large",
            f"{what or field} must be below 10^13, not {amount}",
            field=field,
            limit=str(MAX_AMOUNT),
            amount=str(amount),
            **details,
        )


def require_money(amount: Decimal, currency: str) -> None:
    """Invoiced, credited and paid amounts: positive, below the limit, in whole
    minor units of the order's currency (cents; whole yen)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise DomainError("amount_must_be_positive", "the amount must be a positive number")
    require_below_limit("amount", amount)
    require_minor_units(amount, currency)


def require_minor_units(amount: Decimal, currency: str) -> None:
    """An amount that becomes money owed (an invoice, a payment, a compensation
    later credited) is a whole number of the currency's minor units."""
    if not in_minor_units(amount, currency):
        places = minor_unit(currency)
        unit = "whole units" if places == 0 else f"at most {places} decimals"
        raise DomainError(
            "amount_has_too_many_decimals",
            f"{currency} amounts are in {unit}, not {amount}",
            field="amount",
            currency=currency,
            decimals=places,
        )


def require_lines(lines: Sequence[Line], currency: str, subject: str = "the order") -> None:
    """An order needs at least one line, each SKU once, positive quantities and
    prices, and each line's amount and the total below the limit (``subject``
    names the order in the refusal: a merge's lines are not the caller's)."""
    if not lines:
        raise DomainError("order_needs_a_line", "an order needs at least one line")
    seen: set[str] = set()
    total = Decimal(0)
    for index, line in enumerate(lines):
        require_text("sku", line.sku)
        require_text("product name", line.name)
        if line.sku in seen:
            raise DomainError("duplicate_sku", f"{line.sku} appears twice", sku=line.sku)
        seen.add(line.sku)
        require_quantity(line.quantity)
        require_amount_not_negative("unit price", line.unit_price)
        exponent = line.unit_price.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            raise DomainError("amount_has_too_many_decimals", "unit prices have at most 4 decimals")
        amount = line_amount(line.quantity, line.unit_price, currency)
        where = f"lines[{index}].amount"
        require_below_limit(
            where, amount, f"the amount of {subject}'s line {line.sku}", sku=line.sku
        )
        total += amount
    require_below_limit("total", total, f"{subject}'s total")


def require_business_date(what: str, day: date | None) -> None:
    """Business dates lie between FIRST_DAY and LAST_DAY (see ``values``)."""
    if day is not None and not within_business_range(day):
        raise DomainError(
            "date_out_of_range",
            f"{what} must be between {FIRST_DAY} and {LAST_DAY}, not {day}",
            field=what,
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        )


def require_sku_quantities(items: Sequence[SkuQty], lines: Mapping[str, LineState]) -> None:
    seen: set[str] = set()
    if not items:
        raise DomainError("lines_required", "at least one line is required")
    for item in items:
        if item.sku not in lines:
            raise DomainError("unknown_sku", f"the order has no line {item.sku}", sku=item.sku)
        if item.sku in seen:
            raise DomainError("duplicate_sku", f"{item.sku} appears twice", sku=item.sku)
        seen.add(item.sku)
        require_quantity(item.quantity)


def require_delivery(delivery: Delivery) -> None:
    require_text("delivery address", delivery.address)
    require_text("consignee", delivery.consignee)
    require_choice("transport mode", delivery.transport_mode, TRANSPORT_MODES)


def require_checks(checks: Mapping[str, bool]) -> None:
    """Every area is checked: customer, product and delivery."""
    unknown = set(checks) - set(CHECK_AREAS)
    missing = set(CHECK_AREAS) - set(checks)
    if unknown or missing:
        raise DomainError(
            "invalid_checks",
            f"checks must be given for exactly {', '.join(CHECK_AREAS)}",
            unknown=sorted(unknown),
            missing=sorted(missing),
        )


def require_payment_terms(terms: PaymentTerms) -> None:
    require_choice("payment method", terms.method, PAYMENT_METHODS)
    if isinstance(terms.due_days, bool) or not 0 <= terms.due_days <= 365:
        raise DomainError("invalid_due_days", "due days must be between 0 and 365")
    share = terms.prepayment_percent
    if not share.is_finite() or not Decimal(0) <= share <= Decimal(100):
        raise DomainError("invalid_prepayment_percent", "prepayment must be 0–100 percent")


def require_purchase_items(items: Sequence[PurchaseItem]) -> None:
    if not items:
        raise DomainError("lines_required", "a purchase order needs at least one item")
    for item in items:
        require_text("part", item.part)
        require_quantity(item.quantity)
        require_amount_not_negative("unit cost", item.unit_cost)


def require_document_transition(current: str, new: str) -> None:
    if new not in DOCUMENT_FLOW.get(current, ()):
        raise DomainError(
            "invalid_document_transition",
            f"a {current} document cannot become {new}",
            current=current,
            allowed=list(DOCUMENT_FLOW.get(current, ())),
        )


def required_documents(shipment: ShipmentState) -> list[str]:
    """A dispatch note, the carrier's document, and a customs declaration for export."""
    kinds = ["dispatch_note", CARRIER_DOCUMENT.get(shipment.mode, "waybill")]
    if shipment.export:
        kinds.append("customs_declaration")
    return kinds


def missing_documents(shipment: ShipmentState) -> list[str]:
    return [
        kind
        for kind in required_documents(shipment)
        if kind not in shipment.documents
        or shipment.documents[kind].status not in ("submitted", "cleared")
    ]
