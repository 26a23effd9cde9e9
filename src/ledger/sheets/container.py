"""A workbook's zip container, checked before any reader parses a sheet.

Refused here: a zip that is no workbook; more than ``MAX_PARTS`` parts or
``MAX_UNPACKED_BYTES`` unpacked (declared sizes); a part that unpacks to
more than it declares (each is inflated once, counted, its checksum
verified); a first sheet whose cells reach beyond ``MAX_GRID_ROWS`` rows or
``MAX_COLUMNS`` columns — a reader lays a sheet out as a dense grid, so two
far-apart cells in a tiny file would otherwise cost gigabytes.

Which part is the first visible sheet is read from the workbook's own
description by openpyxl. Within that part only the cell references and
formula elements are looked for: the cells themselves are read by
python-calamine, the formulas located by openpyxl (``ledger.sheets.table``).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from ledger.sheets.limits import MAX_COLUMNS, MAX_GRID_ROWS, MAX_PARTS, MAX_UNPACKED_BYTES
from ledger.sheets.problems import FileRefused, Problem

_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z0-9]+:)?f[\s>/]")
_CELL_REF = re.compile(rb"<(?:[A-Za-z0-9]+:)?c\s[^>]*?\br=\"([A-Z]{1,3})(\d{1,7})\"")
_OVERLAP = 512  # bytes kept between chunks, longer than any element's opening tag


@dataclass(frozen=True)
class Container:
    """What the check learnt: the sheet to read and whether it has formulas."""

    sheet: str
    formulas: bool


class _Scan:
    """The farthest cell reference and any formula element of one part."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self.formulas = False
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        from openpyxl.utils import column_index_from_string  # as in _first_sheet

        text = self._tail + chunk
        self.formulas = self.formulas or _FORMULA_TAG.search(text) is not None
        for letters, row in _CELL_REF.findall(text):
            self.rows = max(self.rows, int(row))
            self.columns = max(self.columns, column_index_from_string(letters.decode()))
        self._tail = text[-_OVERLAP:]


def check_container(data: bytes) -> Container:
    """Check the workbook's container; ``FileRefused`` says what is wrong."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if "xl/workbook.xml" not in {info.filename for info in infos}:
            raise FileRefused(Problem("zip_not_workbook"))
        if len(infos) > MAX_PARTS or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise FileRefused(_too_large())
        scans = {info.filename: _Scan() for info in infos if _is_sheet(info.filename)}
        for info in infos:
            _inflate(archive, info, scans.get(info.filename))
        name, part = _first_sheet(archive)
        scan = scans.get(part) or _Scan()
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as e:
        raise FileRefused(damaged(type(e).__name__)) from None
    if scan.rows > MAX_GRID_ROWS or scan.columns > MAX_COLUMNS:
        limits = {"rows": scan.rows, "columns": scan.columns,
                  "limit_rows": MAX_GRID_ROWS, "limit_columns": MAX_COLUMNS}  # fmt: skip
        raise FileRefused(Problem("sheet_too_large", params=limits))
    return Container(name, scan.formulas)


def damaged(detail: str) -> Problem:
    return Problem("damaged_workbook", params={"detail": detail})


def _too_large() -> Problem:
    return Problem(
        "unpacked_too_large",
        params={"limit_mb": MAX_UNPACKED_BYTES >> 20, "limit_parts": MAX_PARTS},
    )


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str]:
    """The first visible worksheet's name and part."""
    # openpyxl (and the numpy it brings) loads only to read a workbook.
    from openpyxl.reader.workbook import WorkbookParser

    try:
        parser = WorkbookParser(archive, "xl/workbook.xml")
        parser.parse()
        for sheet, rel in parser.find_sheets():
            if sheet.state == "visible" and rel.target:
                return str(sheet.name), str(rel.target).lstrip("/")
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError):
        raise
    except Exception as error:  # the workbook's description is hostile XML
        raise FileRefused(damaged(type(error).__name__)) from None
    raise FileRefused(Problem("no_sheet"))


def _is_sheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, scan: _Scan | None) -> None:
    """Inflate one part (zipfile stops at its declared size and checks its CRC,
    so a part cannot unpack to more than it declares), scanning the sheet's."""
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            if scan is not None:
                scan.feed(chunk)
