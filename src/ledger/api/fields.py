"""Constrained field types shared by the request bodies.

Bounds are generous for real orders and tight enough that nothing a client
sends can overflow the store: texts are capped, quantities and amounts have
ceilings, money has at most 2 decimals (unit prices 4), enums are closed.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

MAX_QUANTITY = 10**9
MAX_AMOUNT = Decimal(10) ** 13
MAX_LINES = 200


def _clean_text(value: str) -> str:
    """Full Unicode is welcome; NUL, other control characters and lone
    surrogates are not (PostgreSQL and JSON encoders refuse them later)."""
    for char in value:
        if char in "\t\n\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError("text must not contain control characters or lone surrogates")
    return value


def _fixed_point(value: Decimal) -> Decimal:
    """1E+5 becomes 100000: amounts are always written out in full."""
    return Decimal(format(value, "f"))


Text = Annotated[str, StringConstraints(max_length=200), AfterValidator(_clean_text)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean_text)]
LongText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_clean_text)]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_clean_text)
]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_clean_text)]
Ident = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY)]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
Percent = Annotated[int, Field(strict=True, ge=0, le=100)]
DueDays = Annotated[int, Field(strict=True, ge=0, le=365)]

Money = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]
Cost = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]
UnitPrice = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=4, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]
Share = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]

# Kept in step with ledger.aggregates.values (a test compares them).
Channel = Literal["phone", "email", "platform", "onsite"]
TransportMode = Literal["road", "rail", "air", "sea", "express"]
Severity = Literal["minor", "major", "critical"]
Resolution = Literal["return", "exchange", "repair", "compensation"]
TransitStatus = Literal["in_transit", "delayed", "damaged", "lost"]
DocumentKind = Literal[
    "bill_of_lading", "waybill", "customs_declaration", "dispatch_note", "packing_list"
]
DocumentStatus = Literal["drafted", "reviewed", "submitted", "cleared", "rejected"]
IssuedStatus = Literal["drafted", "reviewed", "submitted", "cleared"]
PaymentMethod = Literal["bank_transfer", "letter_of_credit", "cash", "cheque", "online", "other"]
CheckArea = Literal["customer", "product", "delivery"]
