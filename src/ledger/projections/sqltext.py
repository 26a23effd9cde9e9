"""SQL text shared by the SQLite and PostgreSQL views.

Column names come from the read model's own declaration (checked by
``ReadModel.check_filters``), never from a request, so they may be
interpolated; values always go as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.projections.framework import Filter, ReadModel


@dataclass(frozen=True)
class Dialect:
    """How one backend spells parameters, types and sorting."""

    param: str
    text: str
    int: str
    collate: str

    def column_type(self, kind: str) -> str:
        return self.int if kind == "int" else self.text


SQLITE = Dialect(param="?", text="TEXT", int="INTEGER", collate="")
POSTGRES = Dialect(param="%s", text="text", int="bigint", collate=' COLLATE "C"')


def create_rows_table(model: ReadModel[Any], table: str, d: Dialect) -> str:
    columns = ", ".join(f"{c.name} {d.column_type(c.kind)}" for c in model.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {table} "
        f"(key {d.text} PRIMARY KEY, {columns}, data {d.text} NOT NULL)"
    )


def stored_columns(model: ReadModel[Any]) -> list[str]:
    """A view table's columns, in order: the key, the model's columns, the row's dump."""
    return ["key", *(c.name for c in model.columns), "data"]


def upsert_row(model: ReadModel[Any], table: str, d: Dialect) -> str:
    names = stored_columns(model)
    params = ", ".join(d.param for _ in names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({params}) "
        f"ON CONFLICT (key) DO UPDATE SET {updates}"
    )


def upsert_json_rows(model: ReadModel[Any], table: str) -> str:
    """PostgreSQL: a page's rows in one statement, as one JSON array of
    objects (``json_rows``) the server turns into rows of the table's type:
    one parameter instead of one execution per row (``executemany``)."""
    names = stored_columns(model)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
    return (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM json_populate_recordset(NULL::{table}, %s::json) "
        f"ON CONFLICT (key) DO UPDATE SET {updates}"
    )


def json_rows(model: ReadModel[Any], rows: Sequence[tuple[str, Any]]) -> str:
    """``(key, row)`` pairs as the JSON ``upsert_json_rows`` takes (column
    values are text, integers or null; the row's dump is a string in it)."""
    names = stored_columns(model)
    return orjson.dumps(
        [dict(zip(names, row_params(model, key, row), strict=True)) for key, row in rows]
    ).decode()


def row_params(model: ReadModel[Any], key: str, row: Any) -> tuple[Any, ...]:
    record = model.record(row)
    return (key, *(record[c.name] for c in model.columns), model.dump(row))


def where(filters: Sequence[Filter], d: Dialect) -> tuple[str, list[Any]]:
    """A WHERE clause (or "") and its parameters."""
    parts: list[str] = []
    params: list[Any] = []
    for column, op, value in filters:
        if op == "in":
            options = list(value)
            if not options:
                parts.append("1 = 0")
                continue
            parts.append(f"{column} IN ({', '.join(d.param for _ in options)})")
            params.extend(options)
        else:
            parts.append(f"{column} {op} {d.param}")
            params.append(value)
    return (f" WHERE {' AND '.join(parts)}" if parts else ""), params


def select_rows(
    table: str,
    filters: Sequence[Filter],
    order_by: Sequence[str],
    limit: int | None,
    offset: int,
    d: Dialect,
    text_columns: frozenset[str],
) -> tuple[str, list[Any]]:
    clause, params = where(filters, d)
    # NULLs last on both backends; PostgreSQL sorts text by code point like SQLite.
    keys = [f"{c} IS NULL, {c}{d.collate if c in text_columns else ''}" for c in order_by]
    keys.append(f"key{d.collate}")
    statement = f"SELECT data FROM {table}{clause} ORDER BY {', '.join(keys)}"
    if limit is not None:
        statement += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    elif offset:
        statement += f" LIMIT -1 OFFSET {int(offset)}" if d is SQLITE else f" OFFSET {int(offset)}"
    return statement, params


def count_rows(table: str, filters: Sequence[Filter], d: Dialect) -> tuple[str, list[Any]]:
    clause, params = where(filters, d)
    return f"SELECT COUNT(*) AS n FROM {table}{clause}", params


def text_columns(model: ReadModel[Any]) -> frozenset[str]:
    return frozenset({"key", *(c.name for c in model.columns if c.kind == "text")})
