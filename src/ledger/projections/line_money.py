"""A line's amount: quantity × unit price, rounded once to the currency's
minor unit, half-up (SPEC: money).

The one place the seasonal and planning read models take line amounts
from, so the shared money helper can replace it in one edit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units that are not two digits.
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest unit: 0.01 for CNY, 1 for JPY."""
    return Decimal(1).scaleb(-MINOR_DIGITS.get(currency, 2))


def line_amount(quantity: int, unit_price: Decimal | str, currency: str) -> Decimal:
    """``quantity × unit_price`` rounded half-up to ``currency``'s minor unit."""
    exact = Decimal(unit_price) * quantity
    return exact.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
