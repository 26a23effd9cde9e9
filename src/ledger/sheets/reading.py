"""An uploaded file's bytes read into a grid of cells: an .xlsx workbook's
first visible worksheet (python-calamine) or a .csv file (UTF-8 with or
without BOM, UTF-16 with BOM, GB18030; a CSV cell's apostrophe before a
formula character, the exports' escape, is taken off).

The kind is told by the content, never by the file's name. Before a
workbook reaches the reader its zip container is checked
(``ledger.sheets.container``), so a zip bomb is refused before any XML is parsed.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from typing import Literal

from ledger.formats.sheets import unescaped_text
from ledger.sheets.container import check_container, damaged
from ledger.sheets.limits import MAX_COLUMNS, MAX_FILE_BYTES, MAX_GRID_ROWS
from ledger.sheets.problems import FileRefused, Problem

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"7z\xbc\xaf", "7z"),
    (b"Rar!", "RAR"),
    (b"\x7fELF", "ELF"),
    (b"MZ", "Windows program"),
)
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # .xls, and .xlsx saved with a password


@dataclass
class Grid:
    """The cells of one sheet: ``rows[i]`` is the file's row ``i + 1``."""

    format: Literal["xlsx", "csv"]
    sheet: str
    rows: list[list[object]]
    encoding: str = ""
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    maybe_formulas: bool = False


def read_grid(data: bytes) -> Grid:
    """The file's cells; ``FileRefused`` when it is not a readable spreadsheet."""
    if not data:
        raise FileRefused(Problem("empty_file"))
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(Problem("file_too_large", params={"limit_mb": MAX_FILE_BYTES >> 20}))
    if data.startswith(_ZIP):
        return _read_xlsx(data)
    if data.startswith(_OLE):
        raise FileRefused(Problem("old_excel"))
    for magic, name in _MAGIC:
        if data.startswith(magic):
            raise FileRefused(Problem("not_a_spreadsheet", params={"detected": f" ({name})"}))
    return _read_csv(data)


# -- xlsx ----------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Grid:
    from python_calamine import CalamineError, CalamineWorkbook  # loaded only to read a workbook

    container = check_container(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_name(container.sheet)
        end = sheet.end
        if end is not None and end[1] + 1 > MAX_COLUMNS:
            raise FileRefused(
                Problem("too_many_columns", params={"width": end[1] + 1, "limit": MAX_COLUMNS})
            )
        rows = sheet.to_python(skip_empty_area=False, nrows=MAX_GRID_ROWS + 1) if end else []
        merged = [(a[0], a[1], b[0], b[1]) for a, b in sheet.merged_cell_ranges or []]
    except (CalamineError, ValueError, OverflowError, KeyError) as error:
        # Also what the reader raises converting a hostile cell (a date beyond the calendar).
        raise FileRefused(damaged(type(error).__name__)) from None
    except BaseException as error:
        # The reader's Rust code panicking (pyo3's PanicException derives from BaseException).
        if type(error).__name__ != "PanicException":
            raise
        raise FileRefused(damaged("PanicException")) from None
    cells: list[list[object]] = [list(row) for row in rows]
    return Grid("xlsx", container.sheet, cells, "", merged, container.formulas)


# -- csv -----------------------------------------------------------------------


def _read_csv(data: bytes) -> Grid:
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    rows: list[list[object]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            # A CSV the service exported escapes texts that look like formulas
            # ("'+86 21..."): read back, they are the texts themselves.
            rows.append([unescaped_text(cell) for cell in record])
            if len(rows) > MAX_GRID_ROWS:
                break
    except csv.Error as error:
        raise FileRefused(
            Problem("bad_csv", params={"line": reader.line_num, "detail": str(error)})
        ) from None
    width = max((len(row) for row in rows), default=0)
    if width > MAX_COLUMNS:
        params = {"width": width, "limit": MAX_COLUMNS}
        raise FileRefused(Problem("too_many_columns", params=params))
    return Grid("csv", "", rows, encoding)


def _decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: a BOM decides; else UTF-8, else GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "utf-8-sig")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "utf-16")]
    elif b"\x00" in data:
        raise FileRefused(Problem("not_a_spreadsheet", params={"detected": ""}))
    else:
        candidates = [("utf-8", "utf-8"), ("gb18030", "gb18030")]
    for codec, name in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise FileRefused(Problem("not_a_spreadsheet", params={"detected": ""}))
        return text, name
    raise FileRefused(Problem("unknown_encoding"))


def _looks_binary(text: str) -> bool:
    """More than a few control characters: not text someone typed."""
    sample = text[:65536]
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n")
    return controls > max(2, len(sample) // 1000)


def _delimiter(text: str) -> str:
    """Comma, unless the first line is clearly separated by tabs or semicolons
    (Excel's "Unicode text" and European list separators)."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {mark: first.count(mark) for mark in (",", "\t", ";")}
    best = max(counts, key=lambda mark: counts[mark])
    return best if counts[best] > counts[","] else ","
