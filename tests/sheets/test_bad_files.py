"""Every kind of bad file gets a clear report naming what is wrong, and
where; none raises. Good files read alike in every format and encoding."""

from __future__ import annotations

import codecs
import io
import zipfile
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from ledger.api.intake.checking import Intake, check_file
from ledger.sheets.limits import MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, MAX_UNPACKED_BYTES
from ledger.sheets.template import COLUMNS
from ledger.sheets.workbook import template_workbook
from order_files import HEADERS, csv_bytes, csv_text, order_rows, xlsx_bytes

TEMPLATE = template_workbook(date(2026, 5, 1))


def codes(intake: Intake) -> list[str]:
    return [problem.code for problem in intake.problems]


def refused_with(data: bytes, code: str) -> Intake:
    intake = check_file(data, "upload")
    assert intake.table is None and not intake.valid
    assert codes(intake)[0] == code, [p.message("en") for p in intake.problems]
    assert all(p.message("en") and p.message("zh") for p in intake.problems)
    return intake


def test_the_template_is_a_valid_file_of_one_order_with_two_lines() -> None:
    intake = check_file(TEMPLATE)
    assert intake.valid, intake.problems
    assert [d.ref for d in intake.drafts] == ["PO-2026-0001"]
    assert intake.drafts[0].rows == [2, 3] and len(intake.drafts[0].body.lines) == 2
    sheet = load_workbook(io.BytesIO(TEMPLATE)).active
    assert sheet is not None
    headers = [c.value for c in next(sheet.iter_rows())]
    assert headers == [f"{c.en} / {c.zh}" for c in COLUMNS]


@pytest.mark.parametrize(
    ("data", "detected"),
    [(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"), (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG"),
     (b"\x1f\x8b\x08\x00" + bytes(20), "gzip")],
)  # fmt: skip
def test_a_file_that_is_not_a_spreadsheet_is_named_as_such(data: bytes, detected: str) -> None:
    intake = refused_with(data, "not_a_spreadsheet")
    assert detected in intake.problems[0].message("en")


def test_binary_noise_is_not_a_spreadsheet() -> None:
    refused_with(bytes(range(256)) * 8, "not_a_spreadsheet")


def test_an_old_excel_or_password_protected_workbook_is_asked_to_be_saved_as_xlsx() -> None:
    refused_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "old_excel")


def test_a_zip_that_is_not_a_workbook_says_so() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("orders.txt", "not a workbook")
    refused_with(out.getvalue(), "zip_not_workbook")


def test_a_truncated_workbook_is_damaged() -> None:
    refused_with(TEMPLATE[: len(TEMPLATE) // 2], "damaged_workbook")


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (1 << 20)
            for _ in range(MAX_UNPACKED_BYTES // len(chunk) + 1):
                part.write(chunk)
    data = out.getvalue()
    assert len(data) < MAX_FILE_BYTES
    refused_with(data, "unpacked_too_large")


def test_a_zip_part_that_unpacks_to_more_than_it_declares_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 << 20))
    data = bytearray(out.getvalue())
    part = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    central = data.rfind(b"PK\x01\x02")  # the last entry's central directory header
    small = (1024).to_bytes(4, "little")
    data[part.header_offset + 22 : part.header_offset + 26] = small
    data[central + 24 : central + 28] = small
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(part.filename).file_size == 1024
    refused_with(bytes(data), "damaged_workbook")


def _workbook(build: Callable[[Worksheet], None]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    build(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rows_into(sheet: Worksheet, rows: list[dict[str, object]]) -> None:
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(c.key) for c in COLUMNS])


def test_a_formula_in_a_template_column_is_refused_at_its_cell() -> None:
    def build(sheet: Worksheet) -> None:
        _rows_into(sheet, order_rows(2))
        sheet["Q3"] = "=10*12"
        sheet["Z2"] = "=Q2*R2"  # a column of the file's own: not read

    intake = check_file(_workbook(build))
    assert [(p.code, p.cell, p.value) for p in intake.problems] == [("formula", "Q3", "=10*12")]
    problem = intake.problems[0]
    assert "Values" in problem.message("en") and "公式" in problem.message("zh")


def test_merged_header_cells_are_refused() -> None:
    def build(sheet: Worksheet) -> None:
        _rows_into(sheet, order_rows(1))
        sheet.merge_cells("C1:D1")

    intake = refused_with(_workbook(build), "merged_header")
    assert "C1:D1" in intake.problems[0].message("en")


def test_a_value_merged_down_an_orders_rows_counts_for_each_row() -> None:
    def build(sheet: Worksheet) -> None:
        _rows_into(sheet, order_rows(1, lines=3))
        sheet.merge_cells("C2:C4")  # the customer written once beside its 3 lines

    intake = check_file(_workbook(build))
    assert intake.valid, intake.problems


def test_an_empty_sheet_an_empty_file_and_a_header_alone_are_told_apart() -> None:
    refused_with(_workbook(lambda sheet: None), "empty_sheet")
    refused_with(b"", "empty_file")
    refused_with(csv_bytes([]), "no_orders")
    refused_with(b"\n\n\n", "empty_sheet")


def test_a_sheet_without_the_templates_header_says_where_to_get_it() -> None:
    intake = refused_with(b"name,qty\nwidget,3\n", "no_header")
    assert "template" in intake.problems[0].message("en")


def test_a_title_row_above_the_header_is_fine() -> None:
    data = xlsx_bytes(order_rows(2), above=[["订单导入 Order import"], []])
    intake = check_file(data)
    assert intake.valid and intake.table is not None and intake.table.header_row == 3
    assert intake.drafts[0].rows == [4, 5]


def test_missing_and_duplicate_columns_are_named() -> None:
    headers = [h for h in HEADERS if not h.startswith("Quantity")] + ["SKU"]
    intake = refused_with(csv_text(order_rows(1), headers=headers).encode(), "duplicate_column")
    assert sorted(codes(intake)) == ["duplicate_column", "missing_column"]


def test_columns_of_the_files_own_are_noted_and_ignored() -> None:
    text = csv_text(order_rows(1)).splitlines()
    data = "\n".join(f"{line},{'Remarks 备注' if i == 0 else 'x'}" for i, line in enumerate(text))
    intake = check_file(data.encode())
    assert intake.valid and intake.table is not None
    assert [n.code for n in intake.table.notes] == ["ignored_column"]


def test_too_many_rows_or_columns_or_bytes_are_refused_with_the_limit() -> None:
    intake = refused_with(csv_bytes(order_rows(MAX_ROWS // 2 + 1, lines=2)), "too_many_rows")
    assert f"{MAX_ROWS}" in intake.problems[0].message("en")
    refused_with(",".join(["x"] * (MAX_COLUMNS + 1)).encode(), "too_many_columns")
    refused_with(b"a" * (MAX_FILE_BYTES + 1), "file_too_large")


def test_a_csv_in_neither_utf8_nor_gb18030_is_refused() -> None:
    refused_with(b"customer_ref,\x81\x30\x81" * 3, "unknown_encoding")


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("gb18030", b""), ("utf-16", b"")],
)
def test_csv_reads_the_same_in_every_encoding_as_the_workbook(encoding: str, prefix: bytes) -> None:
    rows = order_rows(5, lines=3)
    workbook = check_file(xlsx_bytes(rows))
    csv_file = check_file(prefix + csv_bytes(rows, encoding))
    assert csv_file.valid and csv_file.table is not None
    assert [d.body for d in csv_file.drafts] == [d.body for d in workbook.drafts]
    assert csv_file.table.encoding in (encoding, "utf-8-sig")


def test_a_tab_separated_export_is_read_too() -> None:
    rows = order_rows(2)
    intake = check_file(csv_text(rows, sep="\t").encode("utf-16"))
    assert intake.valid and len(intake.drafts) == 2


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf"]))
def test_no_bytes_make_the_check_raise(data: bytes, prefix: bytes) -> None:
    intake = check_file(prefix + data)
    assert intake.valid or intake.problems


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=len(TEMPLATE) - 1), st.integers(0, 255))
def test_a_workbook_with_any_byte_changed_gets_a_report_not_an_error(at: int, byte: int) -> None:
    data = bytearray(TEMPLATE)
    data[at] = byte
    intake = check_file(bytes(data))
    assert intake.valid or intake.problems


def test_two_far_apart_cells_in_a_tiny_workbook_are_refused_before_reading() -> None:
    def build(sheet: Worksheet) -> None:
        _rows_into(sheet, order_rows(1))
        sheet["CV1048576"] = "x"  # a dense grid to here would be 100 million cells

    data = _workbook(build)
    assert len(data) < 20_000
    intake = refused_with(data, "sheet_too_large")
    assert "1048576" in intake.problems[0].message("en")


def test_only_the_first_visible_sheet_is_read() -> None:
    book = Workbook()
    hidden = book.active
    assert isinstance(hidden, Worksheet)
    hidden.title, hidden.sheet_state = "Old", "hidden"
    hidden["A1"] = "nothing to see"
    orders = book.create_sheet("Orders")
    _rows_into(orders, order_rows(2))
    book.create_sheet("Prices")["CV30000"] = 1  # a big sheet that is not read
    out = io.BytesIO()
    book.save(out)
    intake = check_file(out.getvalue())
    assert intake.valid and intake.table is not None and intake.table.sheet == "Orders"


def test_the_api_rules_name_their_bounds_in_both_languages() -> None:
    rows = order_rows(1)
    rows[0]["unit_price"], rows[1]["quantity"] = "99,999,999,999,999", 0
    price, quantity = check_file(csv_bytes(rows)).problems
    assert (price.cell, quantity.cell, quantity.code) == ("R2", "Q3", "greater_than")
    assert price.code in ("less_than", "less_than_equal")  # the API's ceiling, < or ≤ 10^13
    assert "10000000000000" in price.message("en") and "10000000000000" in price.message("zh")
    assert quantity.message("zh") == "必须大于 0。"
