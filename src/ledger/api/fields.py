"""Constrained field types shared by the request bodies and query parameters.

Bounds are generous for real orders and tight enough that nothing a client
sends can overflow the store or a report: texts are capped, quantities have
a ceiling, amounts stay below 10^13, money has at most 3 decimals (the
order's currency decides: 2 for CNY, 0 for JPY) and unit prices 4, business
dates lie between 2000-01-01 and 2099-12-31, enums are closed.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from ledger.aggregates.values import (
    FIRST_DAY,
    LAST_DAY,
    MAX_AMOUNT,
    MAX_MINOR_UNIT,
    MAX_QUANTITY,
    UNIT_PRICE_PLACES,
    within_business_range,
)

MAX_LINES = 200
DATE_RANGE = f"between {FIRST_DAY} and {LAST_DAY}"


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
    Field(
        gt=0,
        lt=MAX_AMOUNT,
        decimal_places=MAX_MINOR_UNIT,
        allow_inf_nan=False,
        description="below 10^13, in whole minor units of the order's currency "
        "(2 decimals for CNY, none for JPY: more is refused with amount_has_too_many_decimals)",
    ),
    AfterValidator(_fixed_point),
]
Cost = Annotated[
    Decimal,
    Field(ge=0, lt=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]
UnitPrice = Annotated[
    Decimal,
    Field(ge=0, lt=MAX_AMOUNT, decimal_places=UNIT_PRICE_PLACES, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]


def _business_date(value: date) -> date:
    if not within_business_range(value):
        raise ValueError(f"a business date lies {DATE_RANGE}")
    return value


def _business_moment(value: datetime) -> datetime:
    """The day as written (in its own offset), so nothing is converted near the ends."""
    _business_date(value.date())
    return value


BusinessDate = Annotated[
    date, AfterValidator(_business_date), Field(description=f"ISO 8601 date {DATE_RANGE}")
]
BusinessMoment = Annotated[
    datetime,
    AfterValidator(_business_moment),
    Field(description=f"ISO 8601 date and time (naive means UTC), on a day {DATE_RANGE}"),
]
Share = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_fixed_point),
]

# Kept in step with ledger.aggregates.values (a test compares them).
Channel = Literal["phone", "email", "platform", "onsite", "wechat", "other"]
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
