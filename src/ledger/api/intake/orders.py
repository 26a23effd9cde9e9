"""A file's rows as orders, checked by the API's own rules.

Rows are grouped by customer reference (first appearance first); each
group becomes the body of ``POST /orders`` (``ReceiveIn``), validated by
pydantic exactly as the endpoint validates it, then by the domain's
``Order.check_receipt``, as the application does before numbering an order.
Every error is put back on the cell it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.api.schemas import ReceiveIn
from ledger.sheets.cells import CellError, Value, read_cell, shown
from ledger.sheets.problems import Problem
from ledger.sheets.table import Row, Table
from ledger.sheets.template import BY_KEY, COLUMNS, GROUP_KEY, Column

ORDER_COLUMNS = tuple(c for c in COLUMNS if c.level == "order" and c.key != GROUP_KEY)
LINE_COLUMNS = tuple(c for c in COLUMNS if c.level == "line")
_BY_FIELD = {column.field: column for column in COLUMNS if column.field}
MAX_REF = 64
_REPORTED = object()  # a cell whose problem is already reported


@dataclass
class Draft:
    """One order of the file: its reference, the rows of its lines, its body."""

    ref: str
    rows: list[int]
    body: ReceiveIn


@dataclass
class _Group:
    ref: str
    members: list[tuple[Row, dict[str, Any]]] = field(default_factory=list)
    source: dict[str, int] = field(default_factory=dict)  # order column -> its row


def check_orders(table: Table) -> tuple[list[Draft], list[Problem], int]:
    """The file's orders that pass every rule, every problem found, and how
    many orders (customer references) the file holds."""
    problems: list[Problem] = []
    groups: dict[str, _Group] = {}
    for row in table.rows:
        values = _read_row(table, row, problems)
        ref = values.get(GROUP_KEY)
        if ref is None:
            problems.append(_problem(table, "required", row, GROUP_KEY))
        elif ref is not _REPORTED and len(ref) > MAX_REF:
            problems.append(_problem(table, "string_too_long", row, GROUP_KEY, max_length=MAX_REF))
        elif ref is not _REPORTED:
            groups.setdefault(ref, _Group(ref)).members.append((row, values))
    drafts: list[Draft] = []
    for group in groups.values():
        found = len(problems)
        body = _body(table, group, problems)
        draft = _validated(table, group, body, problems)
        if draft is not None and len(problems) == found:
            drafts.append(draft)
    return drafts, problems, len(groups)


def _problem(table: Table, code: str, row: Row, key: str, **params: Any) -> Problem:
    raw = row.formulas.get(key) or row.cells.get(key)
    return Problem(code, row.number, key, table.cell(row.number, key), shown(raw), params)


def _read_row(table: Table, row: Row, problems: list[Problem]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in row.cells.items():
        if key in row.formulas:
            problems.append(_problem(table, "formula", row, key))
            values[key] = _REPORTED
            continue
        try:
            values[key] = read_cell(BY_KEY[key], raw)
        except CellError as error:
            problems.append(_problem(table, error.code, row, key, **error.params))
            values[key] = _REPORTED
    return values


def _body(table: Table, group: _Group, problems: list[Problem]) -> dict[str, Any]:
    """The receive command's body: each order column from the first row that
    gives it (the others must agree), each line from its row."""
    body: dict[str, Any] = {}
    for column in ORDER_COLUMNS:
        value = _order_value(table, group, column, problems)
        if value is None and column.default:
            value = column.default
        if value is not None and value is not _REPORTED:
            _put(body, column.field, value)
    body["lines"] = [_line(values) for _, values in group.members]
    return body


def _order_value(table: Table, group: _Group, column: Column, problems: list[Problem]) -> Any:
    first: tuple[Value, Row] | None = None
    reported = False
    for row, values in group.members:
        value = values.get(column.key)
        reported |= value is _REPORTED
        if value is None or value is _REPORTED:
            continue
        if first is None:
            first = (value, row)
            group.source[column.key] = row.number
        elif value != first[0]:
            params = {"first_row": first[1].number, "first_value": shown(first[0])}
            problems.append(_problem(table, "differs_in_order", row, column.key, **params))
    if first is None:
        return _REPORTED if reported else None
    return first[0]


def _line(values: dict[str, Any]) -> dict[str, Any]:
    return {
        c.field[1]: values[c.key]
        for c in LINE_COLUMNS
        if values.get(c.key) is not None and values.get(c.key) is not _REPORTED
    }


def _put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        body = body.setdefault(part, {})
    body[path[-1]] = value


def _validated(
    table: Table, group: _Group, body: dict[str, Any], problems: list[Problem]
) -> Draft | None:
    rows = [row.number for row, _ in group.members]
    try:
        model = ReceiveIn.model_validate(body)
    except ValidationError as invalid:
        for error in invalid.errors():
            problem = _schema_problem(table, group, dict(error))
            if problem is not None:
                problems.append(problem)
        return None
    try:
        Order.check_receipt(
            model.channel, model.customer.value(), [line.value() for line in model.lines],
            model.currency, model.delivery.value(),
        )  # fmt: skip
    except DomainError as refused:
        problems.append(_domain_problem(table, group, refused))
        return None
    return Draft(group.ref, rows, model)


def _schema_problem(table: Table, group: _Group, error: dict[str, Any]) -> Problem | None:
    """A pydantic error on the cell it is about; None when that cell's own
    problem is already reported (it was left out of the body)."""
    loc = tuple(error.get("loc", ()))
    path = tuple(part for part in loc if isinstance(part, str))
    column = _BY_FIELD.get(path)
    row, values = group.members[0]
    if path[:1] == ("lines",) and len(loc) > 2 and isinstance(loc[1], int):
        row, values = group.members[min(loc[1], len(group.members) - 1)]
    elif column is not None and column.key in group.source:
        row, values = next(m for m in group.members if m[0].number == group.source[column.key])
    key = column.key if column else None
    if key is not None and _reported_anywhere(group, key, values):
        return None
    code = str(error.get("type", "invalid"))
    ctx = error.get("ctx") or {}
    params: dict[str, Any] = {
        k: str(v) for k, v in ctx.items() if isinstance(v, str | int | Decimal)
    }
    params["detail"] = str(error.get("msg", ""))
    if key is None:
        return Problem(code, row.number, None, "", "", params)
    return _problem(table, code, row, key, **params)


def _reported_anywhere(group: _Group, key: str, values: dict[str, Any]) -> bool:
    column = BY_KEY[key]
    if column.level == "line":
        return values.get(key) is _REPORTED
    return any(v.get(key) is _REPORTED for _, v in group.members)


def _domain_problem(table: Table, group: _Group, refused: DomainError) -> Problem:
    params: dict[str, Any] = {"detail": refused.message}
    if refused.code == "duplicate_sku":
        sku = str(refused.details.get("sku", ""))
        rows = [r for r, v in group.members if v.get("sku") == sku]
        params.update(sku=sku, rows=", ".join(str(r.number) for r in rows))
        return _problem(table, "duplicate_sku", rows[-1] if rows else group.members[0][0],
                        "sku", **params)  # fmt: skip
    return Problem(refused.code, group.members[0][0].number, None, "", "", params)
