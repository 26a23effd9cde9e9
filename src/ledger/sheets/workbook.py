"""The downloadable template: an .xlsx workbook (openpyxl) with the columns'
headers in English and Chinese, one example order of two lines, and a
second sheet explaining each column and the limits."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.sheets.limits import MAX_FILE_BYTES, MAX_ROWS
from ledger.sheets.template import CHOICE_LABELS, COLUMNS, MAX_LINES, Column

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ORDERS_SHEET = "Orders 订单"
HELP_SHEET = "Help 说明"
FORMATS = {"integer": "0", "decimal": "#,##0.00##", "date": "yyyy-mm-dd", "code": "@", "text": "@"}
WIDTHS = {"text": 28, "code": 18, "choice": 14, "integer": 10, "decimal": 12, "date": 14}
_HEAD_COLOR = "DDE7F3"  # the header row's fill
_KINDS = {
    "text": ("text", "文本"),
    "code": ("code (full-width characters become ASCII)", "编码（全角字符转为半角）"),
    "choice": ("one of the values listed", "列出的值之一"),
    "integer": ("whole number", "整数"),
    "decimal": ("number, up to 4 decimals; 1,250.50 is fine", "数字，最多 4 位小数；可写 1,250.50"),
    "date": (
        "date: 2026-05-01, 2026/5/1 or a date cell",
        "日期：2026-05-01、2026/5/1 或日期单元格",
    ),
}


def example_rows(today: date) -> list[dict[str, object]]:
    """One order (customer reference PO-2026-0001) of two lines."""
    order: dict[str, object] = {
        "customer_ref": "PO-2026-0001",
        "channel": "email",
        "customer_name": "上海华东机电有限公司",
        "customer_phone": "021-5888 1234",
        "customer_email": "purchase@example.cn",
        "customer_address": "上海市浦东新区张江路 88 号",
        "delivery_address": "江苏省苏州市工业园区星湖街 328 号 3 号仓库",
        "consignee": "王建国",
        "consignee_phone": "138 1234 5678",
        "transport_mode": "road",
        "currency": "CNY",
        "requested_date": today + timedelta(days=30),
    }
    first = {"sku": "VLV-DN50", "product_name": "不锈钢球阀", "model": "Q41F-16P",
             "spec": "DN50 PN16", "quantity": 120, "unit_price": Decimal("86.50")}  # fmt: skip
    second = {"sku": "GSK-DN50", "product_name": "法兰垫片", "model": "PTFE",
              "spec": "DN50", "quantity": 500, "unit_price": Decimal("3.2")}  # fmt: skip
    return [{**order, **first}, {**order, **second}]


def template_workbook(today: date) -> bytes:
    """The template as .xlsx bytes."""
    # openpyxl (and the numpy it brings) loads only to write the template.
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = ORDERS_SHEET
    _orders_sheet(sheet, example_rows(today))
    _help_sheet(book.create_sheet(HELP_SHEET))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _orders_sheet(sheet: Worksheet, rows: Sequence[dict[str, object]]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.append([column.bilingual for column in COLUMNS])
    fill = PatternFill("solid", fgColor=_HEAD_COLOR)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([row.get(column.key) for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = WIDTHS[column.kind]
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = FORMATS.get(column.kind, "General")
        if column.choices:
            _choices(sheet, letter, column)
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "B2"


def _choices(sheet: Worksheet, letter: str, column: Column) -> None:
    """A drop-down of the column's values (English; Chinese words are read too)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    listed = ",".join(column.choices)
    check = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True)
    check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    sheet.add_data_validation(check)


def _help_sheet(sheet: Worksheet) -> None:
    from openpyxl.styles import Font, PatternFill

    sheet.append(["Column", "列", "Required 必填", "Kind 类型", "Values 取值", "Default 默认"])
    fill = PatternFill("solid", fgColor=_HEAD_COLOR)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
    for column in COLUMNS:
        kind_en, kind_zh = _KINDS[column.kind]
        labels = CHOICE_LABELS.get(column.key, {})
        values = ", ".join(f"{v} ({labels[v]})" if v in labels else v for v in column.choices)
        sheet.append(
            [column.en, column.zh, "yes 是" if column.required else "",
             f"{kind_en} / {kind_zh}", values, column.default]
        )  # fmt: skip
    for line in _notes():
        sheet.append([])
        sheet.append([line])
    for letter, width in zip("ABCDEF", (22, 16, 14, 48, 60, 12), strict=True):
        sheet.column_dimensions[letter].width = width


def _notes() -> list[str]:
    return [
        "One row per order line. Rows with the same customer reference form one order; "
        "the order's columns (customer, delivery, currency, date) may be given on its first row "
        "only. / 每行一个产品。客户订单号相同的行组成一个订单；订单信息（客户、收货、币种、"
        "日期）只需填在该订单的第一行。",
        f"Limits: {MAX_FILE_BYTES >> 20} MB, {MAX_ROWS:,} rows, {MAX_LINES} lines per order; "
        "no formulas, "
        "no merged header cells. / 限制：文件不超过 "
        f"{MAX_FILE_BYTES >> 20} MB，最多 {MAX_ROWS:,} 行，每个订单最多 {MAX_LINES} 行；"
        "不能含公式，表头不能合并单元格。",
        "Upload a file twice and nothing is recorded the second time. / "
        "同一文件重复上传，第二次不会重复录入。",
    ]
