"""An uploaded file's bytes read into a grid of cells: an .xlsx workbook's
first visible worksheet (python-calamine) or a .csv file (UTF-8 with or
without BOM, UTF-16 with BOM, GB18030).

The kind is told by the content, never by the file's name. Before a
workbook reaches the reader its zip container is checked: at most
``MAX_PARTS`` parts unpacking to at most ``MAX_UNPACKED_BYTES`` in all,
each part's size as declared (every part is inflated once, counted and
its checksum verified), so a zip bomb is refused before any XML is parsed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Literal

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from ledger.files.problems import FileRefused, Problem

MAX_FILE_BYTES = 10 * 2**20
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_PARTS = 1000
MAX_COLUMNS = 100
MAX_ROWS = 20_000  # order rows (lines), beside the header and the rows above it
HEADER_WINDOW = 10  # the header is one of the first rows
MAX_GRID_ROWS = MAX_ROWS + HEADER_WINDOW + 1

# A formula element in a worksheet part: <f>, <f t="shared" .../>, <x:f>.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z0-9]+:)?f[\s>/]")
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
    maybe_formulas = _check_container(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [
            sheet.name
            for sheet in book.sheets_metadata
            if sheet.typ == SheetTypeEnum.WorkSheet and sheet.visible == SheetVisibleEnum.Visible
        ]
        if not names:
            raise FileRefused(Problem("no_sheet"))
        sheet = book.get_sheet_by_name(names[0])
        end = sheet.end
        if end is not None and end[1] + 1 > MAX_COLUMNS:
            raise FileRefused(
                Problem("too_many_columns", params={"width": end[1] + 1, "limit": MAX_COLUMNS})
            )
        rows = sheet.to_python(skip_empty_area=False, nrows=MAX_GRID_ROWS + 1) if end else []
        merged = [(a[0], a[1], b[0], b[1]) for a, b in sheet.merged_cell_ranges or []]
    except CalamineError as error:
        raise FileRefused(_damaged(type(error).__name__)) from None
    except (ValueError, OverflowError, KeyError) as error:
        # What the reader raised converting a hostile cell (a date beyond the calendar).
        raise FileRefused(_damaged(type(error).__name__)) from None
    return Grid("xlsx", names[0], [list(row) for row in rows], "", merged, maybe_formulas)


def _damaged(detail: str) -> Problem:
    return Problem("damaged_workbook", params={"detail": detail})


def _check_container(data: bytes) -> bool:
    """Refuse a zip that is no workbook, or unpacks to too much; whether any
    worksheet part holds a formula element."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if "xl/workbook.xml" not in {info.filename for info in infos}:
            raise FileRefused(Problem("zip_not_workbook"))
        if len(infos) > MAX_PARTS or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise FileRefused(_too_large())
        formulas = False
        for info in infos:
            formulas |= _inflate(archive, info)
        return formulas
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as e:
        raise FileRefused(_damaged(type(e).__name__)) from None


def _too_large() -> Problem:
    return Problem(
        "unpacked_too_large",
        params={"limit_mb": MAX_UNPACKED_BYTES >> 20, "limit_parts": MAX_PARTS},
    )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Inflate one part (zipfile stops at its declared size and checks its CRC,
    so a part cannot unpack to more than it declares); whether it is a
    worksheet with a formula element."""
    sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
    found, tail, seen = False, b"", 0
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            seen += len(chunk)
            if seen > info.file_size:  # pragma: no cover - zipfile never reads past it
                raise FileRefused(_too_large())
            if sheet and not found:
                found = _FORMULA_TAG.search(tail + chunk) is not None
                tail = chunk[-16:]
    return found


# -- csv -----------------------------------------------------------------------


def _read_csv(data: bytes) -> Grid:
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    rows: list[list[object]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            rows.append(list(record))
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
