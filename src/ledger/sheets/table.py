"""A grid of cells as the template's table: the header row found, each
column matched to the template, the order rows under it.

The header is the first of the top ``HEADER_WINDOW`` rows that names at
least three template columns (a title row above it is fine). Its cells may
not be merged. A value merged over several data rows (a customer written
once beside all its lines) counts for each of them. Formulas are located
(openpyxl, read-only) only when the container check saw one: a formula in
a template column is refused, one in a column of the file's own is not read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from ledger.sheets.cells import is_blank, shown
from ledger.sheets.limits import HEADER_WINDOW, MAX_ROWS
from ledger.sheets.problems import FileRefused, Problem
from ledger.sheets.reading import Grid, read_grid
from ledger.sheets.template import COLUMNS, Column, match_header

MIN_HEADER_MATCHES = 3


@dataclass(frozen=True)
class Row:
    """One order row: the raw cell of each template column, by key."""

    number: int
    cells: dict[str, object]
    formulas: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    """The file's order rows under their header."""

    format: str
    sheet: str
    encoding: str
    header_row: int
    columns: dict[int, Column]
    rows: list[Row]
    notes: list[Problem] = field(default_factory=list)

    def cell(self, row: int, key: str) -> str:
        """The cell's address, as the spreadsheet names it (``Q5``)."""
        for index, column in self.columns.items():
            if column.key == key:
                return f"{_letters(index)}{row}"
        return ""


def read_table(data: bytes) -> Table:
    """The file's order rows; ``FileRefused`` when it has none to read."""
    grid = read_grid(data)
    while grid.rows and all(is_blank(value) for value in grid.rows[-1]):
        grid.rows.pop()
    if not grid.rows:
        raise FileRefused(Problem("empty_sheet", params={"sheet": grid.sheet or "CSV"}))
    header = _header_index(grid.rows)
    _refuse_merged_header(grid, header)
    columns, notes = _columns(grid.rows[header])
    _fill_merged(grid, header)
    formulas = _formulas(data, grid, columns, header) if grid.maybe_formulas else {}
    rows = _rows(grid.rows, header, columns, formulas)
    return Table(grid.format, grid.sheet, grid.encoding, header + 1, columns, rows, notes)


def _header_index(rows: list[list[object]]) -> int:
    for index, row in enumerate(rows[:HEADER_WINDOW]):
        named = {match_header(v) for v in row if isinstance(v, str)} - {None}
        if len(named) >= MIN_HEADER_MATCHES:
            return index
    raise FileRefused(Problem("no_header", params={"window": HEADER_WINDOW}))


def _letters(index: int) -> str:
    """The column's letters (``Q``) from its index from 0."""
    # openpyxl (and the numpy it brings) loads only to read a file; so in each function here.
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _range(top: int, left: int, bottom: int, right: int) -> str:
    return f"{_letters(left)}{top + 1}:{_letters(right)}{bottom + 1}"


def _refuse_merged_header(grid: Grid, header: int) -> None:
    merged = [m for m in grid.merged if m[0] <= header <= m[2]]
    problems = [Problem("merged_header", header + 1, params={"range": _range(*m)}) for m in merged]
    if problems:
        raise FileRefused(*problems)


def _columns(header: list[object]) -> tuple[dict[int, Column], list[Problem]]:
    columns: dict[int, Column] = {}
    first: dict[str, int] = {}
    problems: list[Problem] = []
    notes: list[Problem] = []
    for index, value in enumerate(header):
        text = shown(value).strip()
        column = match_header(text) if isinstance(value, str) else None
        letter = _letters(index)
        if column is None:
            if text:
                notes.append(Problem("ignored_column", cell=letter, value=text))
        elif column.key in first:
            params = {"first": _letters(first[column.key]), "second": letter}
            problems.append(Problem("duplicate_column", column=column.key, params=params))
        else:
            first[column.key] = index
            columns[index] = column
    for column in COLUMNS:
        if column.required and column.key not in first:
            problems.append(Problem("missing_column", column=column.key))
    if problems:
        raise FileRefused(*problems)
    return columns, notes


def _fill_merged(grid: Grid, header: int) -> None:
    """Give each cell of a merged range in the data rows the range's value."""
    rows = grid.rows
    for top, left, bottom, right in grid.merged:
        if top <= header or top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            for c in range(left, min(right, len(rows[r]) - 1) + 1):
                rows[r][c] = value


def _rows(
    grid: list[list[object]],
    header: int,
    columns: dict[int, Column],
    formulas: dict[tuple[int, int], str],
) -> list[Row]:
    rows: list[Row] = []
    for index in range(header + 1, len(grid)):
        values = grid[index]
        cells = {c.key: values[i] if i < len(values) else None for i, c in columns.items()}
        found = {c.key: formulas[index, i] for i, c in columns.items() if (index, i) in formulas}
        if not found and all(is_blank(v) for v in cells.values()):
            continue
        if len(rows) == MAX_ROWS:
            raise FileRefused(Problem("too_many_rows", params={"limit": MAX_ROWS}))
        rows.append(Row(index + 1, cells, found))
    if not rows:
        raise FileRefused(Problem("no_orders", row=header + 1))
    return rows


def _formulas(
    data: bytes, grid: Grid, columns: dict[int, Column], header: int
) -> dict[tuple[int, int], str]:
    """The formulas in the template's columns, by (row index, column index)."""
    from openpyxl import load_workbook

    wanted = set(columns)
    found: dict[tuple[int, int], str] = {}
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book[grid.sheet]
        lines = sheet.iter_rows(min_row=header + 2, max_row=len(grid.rows), max_col=max(wanted) + 1)
        for line in lines:
            for cell in line:
                index = getattr(cell, "column", 0) - 1
                if getattr(cell, "data_type", "") == "f" and index in wanted:
                    found[(cell.row or 0) - 1, index] = shown(cell.value)
        book.close()
    except Exception as error:  # a hostile workbook may break the reader anywhere
        detail = {"detail": type(error).__name__}
        raise FileRefused(Problem("damaged_workbook", params=detail)) from None
    return found
