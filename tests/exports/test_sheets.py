"""The writers and the paging under the exports, as properties: any text
survives a CSV and an XLSX round trip as text (never a formula), an amount
never loses a digit, the spool sorts like ``sorted``, and paging a view
yields every matching row once."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.exports.streams import PAGE, every_item, in_order
from ledger.formats.sheets import (
    Column,
    Sheet,
    csv_chunks,
    money_text,
    safe_text,
    unescaped_text,
    write_xlsx,
)
from ledger.projections.board import BOARD
from ledger.projections.facts import OrderFacts
from ledger.projections.view_memory import MemoryView

COLUMNS = (Column("name"), Column("amount", "money"), Column("count", "int"), Column("on", "bool"))
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
# Text as the service stores it: no control characters (the API refuses them); in an
# XLSX file they would be escaped (_x0008_), which Excel reads back and openpyxl does not.
STORED = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=40)
AMOUNTS = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)


def items_of(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    item = st.fixed_dictionaries({
        "name": text, "amount": AMOUNTS.map(str), "count": st.integers(-(10**9), 10**9),
        "on": st.booleans(), "currency": st.sampled_from(["CNY", "JPY", "KWD"]),
    })  # fmt: skip
    return st.lists(item, max_size=30)


ITEMS = items_of(TEXT)


def sheet(items: list[dict[str, Any]]) -> Sheet:
    return Sheet("t", ["Name", "Amount", "Count", "On"], COLUMNS, iter(items))


@settings(max_examples=60, deadline=None)
@given(ITEMS)
def test_csv_rows_read_back_as_written(items: list[dict[str, Any]]) -> None:
    body = b"".join(csv_chunks(sheet(items)))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Name", "Amount", "Count", "On"] and len(rows) == len(items) + 1
    for row, item in zip(rows[1:], items, strict=True):
        assert row[0] == safe_text(item["name"])
        assert Decimal(row[1]) == Decimal(item["amount"])
        assert int(row[2]) == item["count"] and row[3] == ("yes" if item["on"] else "no")


@given(TEXT)
def test_a_csv_cell_never_starts_a_formula(value: str) -> None:
    assert not safe_text(value).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe_text(value).removeprefix("'") == value or safe_text(value) == value


@given(st.one_of(TEXT, st.tuples(st.sampled_from("'=+-@\t\r"), TEXT).map("".join)))
def test_the_csv_escape_is_undone_exactly(value: str) -> None:
    """The import reads back any text an export wrote, apostrophes and all."""
    assert unescaped_text(safe_text(value)) == value


@given(AMOUNTS, st.sampled_from(["CNY", "JPY", "KWD", "USD"]))
def test_an_amount_keeps_every_digit_and_at_least_the_minor_unit(
    amount: Decimal, currency: str
) -> None:
    text = money_text(amount, currency)
    places = {"JPY": 0, "KWD": 3}.get(currency, 2)
    assert Decimal(text) == amount
    assert len(text.partition(".")[2]) >= places


@settings(max_examples=25, deadline=None)
@given(items_of(STORED))
def test_xlsx_cells_keep_their_types_and_text_stays_text(items: list[dict[str, Any]]) -> None:
    out = io.BytesIO()
    assert write_xlsx(sheet(items), out) == len(items)
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    rows = list(ws.iter_rows())[1:]
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        assert row[0].data_type != "f"  # never a formula, whatever the text
        assert (row[0].value or "") == item["name"][:32767]
        assert abs(Decimal(str(row[1].value)) - Decimal(item["amount"])) < Decimal("0.00005")
        assert row[2].value == item["count"] and row[3].value is item["on"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), TEXT), max_size=60), st.booleans())
def test_the_spool_sorts_like_sorted(keys: list[tuple[int, str]], descending: bool) -> None:
    items = [{"k": k, "t": t, "i": i} for i, (k, t) in enumerate(keys)]
    got = list(in_order(iter(items), lambda x: (x["k"], x["t"]), descending))
    expected = sorted(items, key=lambda x: (x["k"], x["t"]), reverse=descending)
    assert [(x["k"], x["t"]) for x in got] == [(x["k"], x["t"]) for x in expected]
    assert sorted(x["i"] for x in got) == list(range(len(items)))


def _facts(n: int, customer: str) -> OrderFacts:
    key = f"{n:08d}-0000-4000-8000-000000000000"
    at = "2026-01-01T00:00:00+00:00"
    return OrderFacts(key, f"SO-2026-{n:06d}", customer, "phone", "CNY", at, at, 1)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 3 * PAGE + 7), st.sampled_from(["甲", "乙"]))
def test_paging_a_view_yields_every_matching_row_once(count: int, customer: str) -> None:
    view: MemoryView[OrderFacts] = MemoryView(BOARD)
    rows = {f.order_id: f for f in (_facts(n, "甲乙"[n % 2]) for n in range(count))}
    view.write(rows, None, expected=None)

    def query(v: Any) -> list[dict[str, Any]]:
        return [{"number": f.number} for f in v.select([("customer", "=", customer)])]

    numbers = [item["number"] for item in every_item(view, query)]
    wanted = sorted(f.number for f in rows.values() if f.customer == customer)
    assert sorted(numbers) == wanted and len(set(numbers)) == len(numbers)
