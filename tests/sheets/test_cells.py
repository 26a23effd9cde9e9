"""Each cell read as its column's kind: full-width digits, thousands
separators, dates as cells, text or Excel serials, choices in English or Chinese."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.values import CHANNELS, TRANSPORT_MODES
from ledger.api.fields import MAX_LINES as API_MAX_LINES
from ledger.sheets.cells import EXCEL_EPOCH, CellError, read_cell
from ledger.sheets.template import BY_KEY, COLUMNS, MAX_LINES, match_header

QUANTITY, PRICE, DAY = BY_KEY["quantity"], BY_KEY["unit_price"], BY_KEY["requested_date"]
FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


def test_the_template_keeps_the_receive_commands_limits_and_choices() -> None:
    assert MAX_LINES == API_MAX_LINES
    assert BY_KEY["channel"].choices == CHANNELS
    assert BY_KEY["transport_mode"].choices == TRANSPORT_MODES
    assert len({c.key for c in COLUMNS}) == len(COLUMNS)


@pytest.mark.parametrize(
    ("header", "key"),
    [("Customer reference / 客户订单号", "customer_ref"), ("客户订单号", "customer_ref"),
     ("UNIT PRICE", "unit_price"), ("单价(元)", "unit_price"), ("Quantity (pcs)", "quantity"),
     ("ＳＫＵ", "sku"), ("数量\nQty", "quantity"), ("consignee_phone", "consignee_phone")],
)  # fmt: skip
def test_a_header_names_its_column_in_either_language(header: str, key: str) -> None:
    column = match_header(header)
    assert column is not None and column.key == key


def test_an_unknown_header_names_no_column() -> None:
    assert match_header("备注 Remarks") is None


@given(st.integers(min_value=0, max_value=10**12))
def test_full_width_digits_and_thousands_separators_read_as_the_number(n: int) -> None:
    grouped = f"{n:,}"
    assert read_cell(QUANTITY, grouped) == n
    assert read_cell(QUANTITY, grouped.translate(FULL_WIDTH)) == n
    assert read_cell(QUANTITY, str(n).translate(FULL_WIDTH)) == n
    assert read_cell(QUANTITY, float(n)) == n


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_amounts_read_exactly_with_or_without_separators(amount: Decimal) -> None:
    assert read_cell(PRICE, f"{amount:,}") == amount
    assert read_cell(PRICE, f"{amount:,}".translate(FULL_WIDTH)) == amount
    assert read_cell(PRICE, float(amount)) == Decimal(repr(float(amount)))


@pytest.mark.parametrize(
    ("raw", "code"),
    [("12,34", "not_a_number"), ("1.2.3", "not_a_number"), ("abc", "not_a_number"),
     ("1e5", "not_a_number"), (True, "not_a_number"), ("9" * 41, "not_a_number"),
     (date(2026, 1, 1), "not_a_number")],
)  # fmt: skip
def test_what_is_not_a_number_says_so(raw: object, code: str) -> None:
    with pytest.raises(CellError) as refused:
        read_cell(PRICE, raw)
    assert refused.value.code == code


def test_a_quantity_with_a_fraction_is_not_whole() -> None:
    with pytest.raises(CellError) as refused:
        read_cell(QUANTITY, 2.5)
    assert refused.value.code == "not_whole"


@pytest.mark.parametrize(
    "raw",
    [date(2026, 5, 1), datetime(2026, 5, 1, 0, 0), 46143, 46143.0, "46143", "2026-05-01",
     "2026/5/1", "2026.05.01", "2026年5月1日", "２０２６年５月１日", "20260501",
     "2026/5/1 0:00", "2026-05-01T00:00:00"],
)  # fmt: skip
def test_a_date_reads_the_same_whichever_way_the_spreadsheet_wrote_it(raw: object) -> None:
    assert read_cell(DAY, raw) == date(2026, 5, 1)


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_an_excel_serial_is_the_days_since_its_epoch(day: date) -> None:
    assert read_cell(DAY, (day - EXCEL_EPOCH).days) == day


@pytest.mark.parametrize(
    ("raw", "code"),
    [("5/1/2026", "not_a_date"), ("tomorrow", "not_a_date"), ("2026-02-30", "no_such_date"),
     (0, "not_a_date"), (time(12, 0), "not_a_date"), (-3, "not_a_date")],
)  # fmt: skip
def test_what_is_not_a_date_says_so(raw: object, code: str) -> None:
    with pytest.raises(CellError) as refused:
        read_cell(DAY, raw)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [("channel", "邮件", "email"), ("channel", "Email", "email"), ("transport_mode", "海运", "sea"),
     ("transport_mode", " EXPRESS ", "express"), ("currency", "ｃｎｙ", "CNY"),
     ("customer_phone", 13800000000.0, "13800000000"), ("sku", "ＶＬＶ－００１", "VLV-001")],
)  # fmt: skip
def test_codes_and_choices_are_normalised(key: str, raw: object, value: str) -> None:
    assert read_cell(BY_KEY[key], raw) == value


def test_free_text_keeps_its_full_width_punctuation() -> None:
    address = "上海市浦东新区（张江）路８８号，三楼"
    assert read_cell(BY_KEY["delivery_address"], f"  {address} ") == address
    assert unicodedata.normalize("NFKC", address) != address


def test_a_choice_outside_the_list_names_the_list() -> None:
    with pytest.raises(CellError) as refused:
        read_cell(BY_KEY["transport_mode"], "camel")
    assert refused.value.code == "not_a_choice"
    assert "sea" in refused.value.params["choices"]
