"""Rows of a listing as CSV or XLSX, written as they come.

A listing's items are the JSON items of its read (dicts); a ``Column``
says which value of an item goes in a cell and of what kind, so a sheet
keeps numbers as numbers, amounts as amounts in the currency's minor unit
(unit prices with every one of their up to 4 decimals) and dates as dates.
Neither writer holds more than a batch of rows: CSV is yielded in chunks,
XLSX goes through XlsxWriter's ``constant_memory`` mode (each row is
flushed to a temporary file as soon as the next one starts) into a file
the caller then streams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any, Literal

from ledger.aggregates.values import UNIT_PRICE_PLACES as PRICE_PLACES
from ledger.aggregates.values import minor_unit

if TYPE_CHECKING:
    from xlsxwriter.workbook import Workbook

Kind = Literal["text", "int", "number", "money", "price", "date", "datetime", "bool"]
Item = Mapping[str, Any]

BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with one
CSV_BATCH = 200  # rows per yielded chunk
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header included
# A text cell starting with one of these is a formula to a spreadsheet program.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A CSV text cell starting with one of these gets a leading apostrophe: the
# apostrophe itself too, so that the escape can be undone without ambiguity.
_ESCAPED_STARTS = (*FORMULA_STARTS, "'")


def minor_places(currency: str) -> int:
    """Decimal places of the currency's minor unit (ISO 4217; 2 unless it says otherwise)."""
    return minor_unit(currency)


@dataclass(frozen=True)
class Column:
    """One column: its header's label key, the kind of its cells, and how to
    read its value from an item (by default the item's ``name`` field, a dotted
    name reaching into nested objects)."""

    name: str
    kind: Kind = "text"
    get: Callable[[Any], Any] | None = None
    currency: str = "currency"  # for money: the item's field naming its currency

    def raw(self, item: Item) -> Any:
        if self.get is not None:
            return self.get(item)
        value: Any = item
        for part in self.name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def value(self, item: Item) -> Any:
        """The cell's value as a Python value of the column's kind (or None)."""
        raw = self.raw(item)
        if raw is None or (raw == "" and self.kind != "text"):
            return None
        return _CONVERT[self.kind](raw)


def _money(raw: Any) -> Decimal:
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw!r}") from None


def _moment(raw: Any) -> datetime:
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _day(raw: Any) -> date:
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])


def _number(raw: Any) -> int | float | Decimal:
    return raw if isinstance(raw, int | float | Decimal) else Decimal(str(raw))


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": str,
    "int": int,
    "number": _number,
    "money": _money,
    "price": _money,
    "date": _day,
    "datetime": _moment,
    "bool": bool,
}


def money_text(amount: Decimal, currency: str) -> str:
    """At least the currency's minor unit of places ("1234.50"); never fewer
    digits than the amount has, so an exact amount is never rounded here."""
    quantum = Decimal(1).scaleb(-minor_places(currency))
    padded = amount.quantize(quantum) if amount == amount.quantize(quantum) else amount
    return f"{padded:f}"


def safe_text(text: str) -> str:
    """Text a spreadsheet program shows as text: a leading formula character
    gets an apostrophe (OWASP's advice against CSV injection); so does a
    leading apostrophe, so that ``unescaped_text`` gives back every text."""
    return "'" + text if text.startswith(_ESCAPED_STARTS) else text


def unescaped_text(cell: str) -> str:
    """The text ``safe_text`` was given (a CSV cell read back): an apostrophe
    before a formula character or another apostrophe is the escape."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_ESCAPED_STARTS) else cell


def exact_float(value: Decimal) -> float | None:
    """``value`` as a double when the double reads back as the same number
    (up to 15 significant digits), else None."""
    number = float(value)
    return number if Decimal(repr(number)) == value else None


@dataclass(frozen=True)
class Sheet:
    """What a file holds: a sheet name, headers already in the reader's
    language, the columns, and the items (an iterator, read once)."""

    name: str
    headers: Sequence[str]
    columns: Sequence[Column]
    items: Iterable[Item]
    yes_no: tuple[str, str] = ("yes", "no")


# -- CSV --------------------------------------------------------------------------


def csv_cell(column: Column, item: Item, yes_no: tuple[str, str]) -> str:
    value = column.value(item)
    if value is None:
        return ""
    kind = column.kind
    if kind in ("money", "price"):
        return money_text(value, str(item.get(column.currency) or ""))
    if kind == "datetime":
        return str(value.isoformat(sep=" ", timespec="seconds"))
    if kind == "date":
        return str(value.isoformat())
    if kind == "bool":
        return yes_no[0] if value else yes_no[1]
    if kind == "text":
        return safe_text(str(value))
    return str(value)


def csv_chunks(sheet: Sheet) -> Iterator[bytes]:
    """The sheet as UTF-8 CSV with a byte order mark, ``CSV_BATCH`` rows a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(sheet.headers)
    for count, item in enumerate(sheet.items, start=1):
        writer.writerow([csv_cell(c, item, sheet.yes_no) for c in sheet.columns])
        if count % CSV_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# -- XLSX -------------------------------------------------------------------------

_NUMBER_FORMATS = {
    "int": "0",
    "number": "0.###",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
_WIDTHS = {"date": 12, "datetime": 20, "money": 16, "price": 14, "bool": 8}


class _Formats:
    """The workbook's cell formats, made once each (money per number of places)."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#E8EEF4", "bottom": 1})
        self.kinds = {
            kind: book.add_format({"num_format": f}) for kind, f in _NUMBER_FORMATS.items()
        }
        self.money: dict[int, Any] = {}
        self.prices: dict[int, Any] = {}

    def of_money(self, places: int) -> Any:
        if places not in self.money:
            pattern = "#,##0" + ("." + "0" * places if places else "")
            self.money[places] = self.book.add_format({"num_format": pattern})
        return self.money[places]

    def of_price(self, places: int) -> Any:
        """At least the currency's places, up to a unit price's 4 (``#,##0.00##``)."""
        if places not in self.prices:
            fixed = min(places, PRICE_PLACES)
            # No places at all would end a whole price with a bare decimal point.
            pattern = f"#,##0.{'0' * fixed}{'#' * (PRICE_PLACES - fixed)}" if fixed else "General"
            self.prices[places] = self.book.add_format({"num_format": pattern})
        return self.prices[places]


def _write_cell(ws: Any, row: int, col: int, column: Column, item: Item, f: _Formats) -> None:
    value = column.value(item)
    kind = column.kind
    if value is None or value == "":
        return  # an empty cell
    if kind == "text":
        ws.write_string(row, col, str(value)[:32767])  # never a formula, number or link
    elif kind == "money":
        places = minor_places(str(item.get(column.currency) or ""))
        ws.write_number(row, col, float(value), f.of_money(places))
    elif kind == "price":
        _write_price(ws, row, col, value, minor_places(str(item.get(column.currency) or "")), f)
    elif kind == "date":
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), f.kinds[kind])
    elif kind == "datetime":
        ws.write_datetime(row, col, value, f.kinds[kind])
    elif kind == "bool":
        ws.write_boolean(row, col, bool(value))
    else:
        number = float(value) if isinstance(value, Decimal) else value
        ws.write_number(row, col, number, f.kinds[kind])


def _write_price(ws: Any, row: int, col: int, value: Decimal, places: int, f: _Formats) -> None:
    """A unit price as a number, unless a double would change it (more than 15
    significant digits): then as its text, which a reader takes as exactly it."""
    number = exact_float(value)
    if number is None:
        ws.write_string(row, col, f"{value:f}")
    else:
        ws.write_number(row, col, number, f.of_price(places))


def _new_sheet(book: Workbook, sheet: Sheet, part: int, f: _Formats) -> Any:
    name = sheet.name[:28] if part == 1 else f"{sheet.name[:24]} ({part})"
    ws = book.add_worksheet(name)
    for col, (header, column) in enumerate(zip(sheet.headers, sheet.columns, strict=True)):
        width = max(_WIDTHS.get(column.kind, 10), min(len(header) * 2 + 2, 40))
        ws.set_column(col, col, width)
        ws.write_string(0, col, header, f.header)
    ws.freeze_panes(1, 0)
    return ws


def write_xlsx(sheet: Sheet, out: IO[bytes]) -> int:
    """Write the sheet as an XLSX workbook to ``out``; returns the rows written.
    Past a worksheet's row limit the rows go on in another worksheet."""
    from xlsxwriter.workbook import Workbook  # loaded only to write a workbook

    book = Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                          "strings_to_urls": False, "strings_to_numbers": False})  # fmt: skip
    formats = _Formats(book)
    part, ws, row, written = 1, _new_sheet(book, sheet, 1, formats), 0, 0
    last = len(sheet.columns) - 1
    for item in sheet.items:
        if row == XLSX_MAX_ROWS - 1:
            ws.autofilter(0, 0, row, last)
            part += 1
            ws, row = _new_sheet(book, sheet, part, formats), 0
        row += 1
        for col, column in enumerate(sheet.columns):
            _write_cell(ws, row, col, column, item, formats)
        written += 1
    ws.autofilter(0, 0, max(row, 1), last)
    book.close()
    return written
