"""Order files for the tests and the bench: rows in the template's layout,
written as .xlsx (openpyxl) or .csv in a chosen encoding."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from ledger.sheets.template import COLUMNS

Row = dict[str, Any]
HEADERS = [column.bilingual for column in COLUMNS]
CUSTOMERS = [
    "上海华东机电有限公司",
    "北京永信贸易有限公司",
    "广州南方五金制品厂",
    "深圳鹏程电子科技",
]
PRODUCTS = [("VLV", "不锈钢球阀"), ("GSK", "法兰垫片"), ("PMP", "离心泵"), ("FLT", "过滤器")]


def order_rows(orders: int, lines: int = 2, seed: int = 7, first: date | None = None) -> list[Row]:
    """``orders`` orders of ``lines`` lines each, one row per line."""
    rng = random.Random(seed)
    day = first or date(2026, 6, 1)
    rows: list[Row] = []
    for n in range(orders):
        customer = rng.choice(CUSTOMERS)
        order: Row = {
            "customer_ref": f"PO-{n + 1:06d}",
            "channel": rng.choice(["email", "phone", "platform"]),
            "customer_name": customer,
            "customer_phone": f"021-{rng.randrange(10**7, 10**8)}",
            "customer_email": f"buyer{n}@example.cn",
            "customer_address": "上海市浦东新区张江路 88 号",
            "delivery_address": f"江苏省苏州市工业园区星湖街 {n % 500 + 1} 号",
            "consignee": "王建国",
            "consignee_phone": "138 1234 5678",
            "transport_mode": rng.choice(["road", "rail", "sea"]),
            "currency": "CNY",
            "requested_date": day + timedelta(days=n % 60),
        }
        for i in range(lines):
            code, name = PRODUCTS[i % len(PRODUCTS)]
            rows.append(
                {**order, "sku": f"{code}-{i + 1:03d}", "product_name": name, "model": "M-1",
                 "spec": "DN50", "quantity": rng.randrange(1, 500),
                 "unit_price": Decimal(rng.randrange(100, 100000)) / 100}
            )  # fmt: skip
    return rows


def xlsx_bytes(
    rows: Sequence[Row], headers: Sequence[str] | None = None, above: Sequence[Any] = ()
) -> bytes:
    """A workbook of ``rows`` under ``headers`` (default: the template's), with
    ``above``: rows before the header (a title)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    for line in above:
        sheet.append(list(line))
    sheet.append(list(headers or HEADERS))
    for row in rows:
        sheet.append([row.get(column.key) for column in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(rows: Sequence[Row], headers: Sequence[str] | None = None, sep: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(list(headers or HEADERS))
    for row in rows:
        writer.writerow([_text(row.get(column.key)) for column in COLUMNS])
    return out.getvalue()


def csv_bytes(rows: Sequence[Row], encoding: str = "utf-8", **kwargs: Any) -> bytes:
    return csv_text(rows, **kwargs).encode(encoding)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)
