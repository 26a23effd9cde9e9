"""What is wrong with an order file, where, and how to say it in English and Chinese.

A ``Problem`` names its place (file row, template column, cell) and a
stable ``code``; ``message(lang)`` renders it. Codes cover the file as a
whole (not a spreadsheet, too large...), a cell (not a number...), an order
(its rows disagree, a SKU twice) and the request schema's own error types
(pydantic's ``missing``, ``string_too_long``...), so a row refused by the
API's rules reads as well as one refused here.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.sheets.template import BY_KEY

_MESSAGES: dict[str, tuple[str, str]] = {
    # the file as a whole
    "empty_file": ("The file is empty.", "文件是空的。"),
    "file_too_large": ("The file is larger than {limit_mb} MB.", "文件超过 {limit_mb} MB。"),
    "not_a_spreadsheet": (
        "This is not a spreadsheet{detected}: upload an .xlsx workbook or a .csv file.",
        "这不是电子表格{detected}：请上传 .xlsx 工作簿或 .csv 文件。",
    ),
    "old_excel": (
        "An Excel 97–2003 (.xls) or password-protected workbook: save it as .xlsx "
        "(Excel Workbook) without a password.",
        "这是 Excel 97–2003（.xls）或设有密码的工作簿：请另存为不设密码的 .xlsx 工作簿。",
    ),
    "zip_not_workbook": (
        "A zip archive, but not an Excel workbook (.xlsx).",
        "这是 zip 压缩包，不是 Excel 工作簿（.xlsx）。",
    ),
    "damaged_workbook": (
        "The workbook cannot be read ({detail}): open it in Excel and save it again.",
        "无法读取该工作簿（{detail}）：请用 Excel 打开后重新保存。",
    ),
    "unpacked_too_large": (
        "The workbook unpacks to more than {limit_mb} MB (or {limit_parts} parts): "
        "this is not an order list.",
        "该工作簿解压后超过 {limit_mb} MB（或 {limit_parts} 个部件），不是订单表。",
    ),
    "unknown_encoding": (
        "The CSV file is neither UTF-8 nor GB18030 text: save it as “CSV UTF-8”.",
        "CSV 文件既不是 UTF-8 也不是 GB18030 编码：请另存为“CSV UTF-8”。",
    ),
    "bad_csv": (
        "The CSV file cannot be read at line {line}: {detail}.",
        "CSV 文件第 {line} 行无法读取：{detail}。",
    ),
    "no_sheet": ("The workbook has no visible worksheet.", "工作簿中没有可见的工作表。"),
    "sheet_too_large": (
        "The sheet has cells as far as row {rows}, column {columns}: at most {limit_rows} rows "
        "and {limit_columns} columns are read. Delete the rows and columns beyond the orders, "
        "even empty formatted ones.",
        "工作表的单元格延伸到第 {rows} 行、第 {columns} 列：最多读取 {limit_rows} 行、"
        "{limit_columns} 列。请删除订单以外的行和列（包括设置了格式的空单元格）。",
    ),
    "empty_sheet": ("The sheet “{sheet}” is empty.", "工作表“{sheet}”是空的。"),
    "too_many_columns": (
        "The sheet is {width} columns wide; at most {limit} are read.",
        "工作表有 {width} 列，最多读取 {limit} 列。",
    ),
    "too_many_rows": (
        "The file has more than {limit} order rows: split it into several files.",
        "文件超过 {limit} 行订单数据：请拆分为多个文件。",
    ),
    "no_header": (
        "No header row in the first {window} rows: one row must name the columns "
        "(download the template).",
        "前 {window} 行中没有表头：须有一行写明各列名称（请下载模板）。",
    ),
    "merged_header": (
        "Header cells {range} are merged: give each column a header cell of its own.",
        "表头单元格 {range} 已合并：请为每一列单独设置表头。",
    ),
    "missing_column": (
        "The required column “{header}” is missing.",
        "缺少必填列“{header}”。",
    ),
    "duplicate_column": (
        "Column “{header}” appears twice (columns {first} and {second}).",
        "“{header}”列出现了两次（第 {first} 列和第 {second} 列）。",
    ),
    "no_orders": ("The sheet has a header but no order rows.", "工作表只有表头，没有订单数据。"),
    "ignored_column": (
        "Column {cell} “{value}” is not a template column and is ignored.",
        "{cell} 列“{value}”不是模板中的列，已忽略。",
    ),
    # a cell
    "formula": (
        "A formula: paste the value instead (Paste Special → Values).",
        "这是公式：请改为粘贴数值（选择性粘贴 → 数值）。",
    ),
    "required": ("{header} is required.", "{header}为必填项。"),
    "not_text": ("Not text.", "不是文本。"),
    "not_a_number": ("Not a number.", "不是数字。"),
    "not_whole": ("Not a whole number.", "不是整数。"),
    "not_a_date": (
        "Not a date: write it as YYYY-MM-DD (e.g. 2026-05-01).",
        "不是日期：请写成 YYYY-MM-DD（如 2026-05-01）。",
    ),
    "no_such_date": ("No such date.", "日期不存在。"),
    "not_a_choice": ("Not one of: {choices}.", "不是以下之一：{choices}。"),
    # an order
    "differs_in_order": (
        "Differs from row {first_row} of the same order (“{first_value}”): "
        "an order has one {header}.",
        "与同一订单第 {first_row} 行不一致（“{first_value}”）：一个订单只有一个{header}。",
    ),
    "duplicate_sku": (
        "SKU {sku} appears twice in this order (rows {rows}): one row per SKU.",
        "产品编号 {sku} 在本订单中出现两次（第 {rows} 行）：每个产品编号只占一行。",
    ),
    # the request schema's error types (pydantic)
    "missing": ("{header} is required.", "{header}为必填项。"),
    "string_too_short": ("{header} must not be empty.", "{header}不能为空。"),
    "string_too_long": (
        "At most {max_length} characters.",
        "最多 {max_length} 个字符。",
    ),
    "string_pattern_mismatch": ("Not in the expected form.", "格式不正确。"),
    "greater_than": ("Must be greater than {gt}.", "必须大于 {gt}。"),
    "greater_than_equal": ("Must be at least {ge}.", "不能小于 {ge}。"),
    "less_than": ("Must be below {lt}.", "必须小于 {lt}。"),
    "less_than_equal": ("Must be at most {le}.", "不能大于 {le}。"),
    "decimal_max_places": (
        "At most {decimal_places} decimal places.",
        "最多 {decimal_places} 位小数。",
    ),
    "too_long": (
        "An order has at most {max_length} lines; this one has {actual_length}.",
        "一个订单最多 {max_length} 行；本订单有 {actual_length} 行。",
    ),
    "too_short": ("An order needs at least one line.", "一个订单至少需要一行产品。"),
    "literal_error": ("Not one of: {expected}.", "不是以下之一：{expected}。"),
}
_FALLBACK = ("{detail}", "{detail}")


class _Lenient(string.Formatter):
    """Leaves a missing placeholder visible instead of failing the report."""

    def get_value(self, key: Any, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(key, "{" + str(key) + "}")


_FORMATTER = _Lenient()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; ``row`` and ``column`` are None when it
    concerns the whole file (or the whole row)."""

    code: str
    row: int | None = None
    column: str | None = None
    cell: str = ""
    value: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        en, zh = _MESSAGES.get(self.code, _FALLBACK)
        column = BY_KEY.get(self.column or "")
        header = column.header(lang) if column else ""
        params = {"header": header, **self.params}
        return _FORMATTER.format(zh if lang == "zh" else en, **params)

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "cell": self.cell,
            "value": self.value,
            "code": self.code,
            "message": self.message(lang),
        }


def known(code: str) -> bool:
    """Whether ``code`` has its own message (others show their ``detail``)."""
    return code in _MESSAGES


class FileRefused(Exception):
    """The file cannot be read as an order list at all; ``problems`` say why."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(", ".join(p.code for p in problems))
        self.problems = list(problems)
