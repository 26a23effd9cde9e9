"""One cell of an order file read as its column's kind says.

Spreadsheets write the same value many ways: ``１２０`` (full-width),
``1,250.50`` (thousands separators), a date as a date cell, as
``2026/5/1`` or ``2026年5月1日`` text, or as the serial number Excel keeps
underneath (46143). Each is read here into one value, or refused with a
``CellError`` whose code names what is wrong (``ledger.sheets.messages``
says it in English and Chinese).

NFKC normalisation is applied to numbers, dates, codes and choices, never to
free text (names, addresses): there it would turn Chinese full-width
punctuation into ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.sheets.template import CHOICE_WORDS, Column

Value = str | int | Decimal | date
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (Lotus' leap day included)
MAX_SERIAL = 2958465  # 9999-12-31
MAX_NUMBER_TEXT = 40  # far beyond any quantity or price the API takes

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}([, ]\d{3})+(\.\d*)?")
_TEXT_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


class CellError(ValueError):
    """A cell that cannot be read as its column's kind."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def shown(raw: object) -> str:
    """The cell as the report shows it (at most 100 characters)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = raw.isoformat() if isinstance(raw, date | datetime | time) else str(raw)
    return text if len(text) <= 100 else text[:99] + "…"


def read_cell(column: Column, raw: object) -> Value | None:
    """The cell's value for ``column`` (None when blank); ``CellError`` if unreadable."""
    if is_blank(raw):
        return None
    reader: Callable[[Column, object], Value] = _READERS[column.kind]
    return reader(column, raw)


def _text(column: Column, raw: object) -> str:
    if isinstance(raw, bool):
        raise CellError("not_text")
    if isinstance(raw, float):
        # A phone number or code typed as a number: 13800000000.0 means the digits.
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, datetime | date | time | timedelta):
        raise CellError("not_text")
    return str(raw).strip()


def _code(column: Column, raw: object) -> str:
    text = unicodedata.normalize("NFKC", _text(column, raw)).strip()
    return text.upper() if column.key == "currency" else text


def _choice(column: Column, raw: object) -> str:
    text = unicodedata.normalize("NFKC", _text(column, raw)).strip()
    word = CHOICE_WORDS.get(column.key, {}).get(text)
    value = word or text.casefold().replace(" ", "_")
    if value not in column.choices:
        raise CellError("not_a_choice", choices=", ".join(column.choices))
    return value


def _number_text(raw: object) -> str:
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise CellError("not_a_number")
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if _GROUPED_NUMBER.fullmatch(text):
        return text.replace(",", "").replace(" ", "")
    raise CellError("not_a_number")


def _decimal(column: Column, raw: object) -> Decimal:
    if isinstance(raw, bool | datetime | date | time | timedelta):
        raise CellError("not_a_number")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise CellError("not_a_number")
        # The shortest text that reads back as the same double: what the
        # spreadsheet shows (0.1 stays 0.1, not 0.1000000000000000055511...).
        return Decimal(repr(raw))
    try:
        return Decimal(_number_text(raw))
    except InvalidOperation:  # pragma: no cover - the patterns admit only numbers
        raise CellError("not_a_number") from None


def _integer(column: Column, raw: object) -> int:
    number = _decimal(column, raw)
    if number != number.to_integral_value():
        raise CellError("not_whole")
    return int(number)


def _date(column: Column, raw: object) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, bool | time | timedelta):
        raise CellError("not_a_date")
    if isinstance(raw, int | float):
        return _serial(float(raw))
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    found = _TEXT_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if found:
        return _calendar(*(int(part) for part in found.groups()[:3]))
    if re.fullmatch(r"\d{1,7}(\.\d+)?", text):
        return _serial(float(text))
    raise CellError("not_a_date")


def _serial(number: float) -> date:
    """An Excel serial day number (a date cell saved without its format)."""
    if not 1 <= number <= MAX_SERIAL:
        raise CellError("not_a_date")
    return EXCEL_EPOCH + timedelta(days=int(number))


def _calendar(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("no_such_date") from None


_READERS: dict[str, Callable[[Column, object], Value]] = {
    "text": _text,
    "code": _code,
    "choice": _choice,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
}
