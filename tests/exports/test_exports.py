"""``?format=csv|xlsx`` on every read-model listing, against the listing's JSON
on the demo's orders: the same rows in the same order, typed cells, headers in
the caller's language, the same filters, a meaningful file name."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from api_client import ROLES, TOKENS, Api
from export_support import get

from ledger.api.export_labels import header
from ledger.exports.listings import ALERTS, BACKLOG, BOARD, SEARCH, Listing
from ledger.exports.registers import ARCHIVE, COMPLAINTS, LEAD_TIMES, SALES, SHIPMENTS, STATEMENT

pytestmark = pytest.mark.slow


def all_items(api: Api, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of the JSON listing, page by page (the board: column by column)."""
    if path == "/board":
        board = get(api, path, limit=500, **params).json()
        return [card for column in board["columns"] for card in column["cards"]]
    items: list[dict[str, Any]] = []
    while True:
        page = get(api, path, limit=500, offset=len(items), **params).json()
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def busiest_customer(api: Api) -> str:
    sales = all_items(api, "/reports/sales", {"group_by": "customer"})
    return str(max(sales, key=lambda i: (i["orders"], i["customer"]))["customer"])


def cases(api: Api) -> list[tuple[str, dict[str, Any], Listing]]:
    customer = busiest_customer(api)
    return [
        ("/board", {}, BOARD),
        ("/backlog", {}, BACKLOG),
        ("/alerts", {}, ALERTS),
        ("/orders", {"customer": customer}, SEARCH),
        ("/reports/sales", {"group_by": "month"}, SALES),
        ("/reports/sales", {"group_by": "product"}, SALES),
        ("/reports/lead-times", {}, LEAD_TIMES),
        ("/complaints", {}, COMPLAINTS),
        (f"/customers/{customer}/statement", {}, STATEMENT),
        ("/shipments", {}, SHIPMENTS),
        ("/audit/archive", {}, ARCHIVE),
    ]


def expected_text(kind: str, value: Any) -> str:
    """A JSON value as the CSV should show it (written here independently)."""
    if value is None or value == "":
        return ""
    if kind == "money":
        text = str(Decimal(str(value)))
        return text if "." in text and len(text.split(".")[1]) >= 2 else f"{Decimal(text):.2f}"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "datetime":
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "text" and str(value)[:1] in ("=", "+", "-", "@", "'"):
        return "'" + str(value)
    return str(value)


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "a byte order mark, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_every_listing_as_csv_has_the_json_rows_in_order(demo_api: Api) -> None:
    for path, params, listing in cases(demo_api):
        items = all_items(demo_api, path, params)
        response = get(demo_api, path, format="csv", **params)
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        rows = parse_csv(response.content)
        columns = listing.columns(params)
        assert rows[0] == [header(c.name, "en", utc=c.kind == "datetime") for c in columns]
        assert len(rows) - 1 == len(items), path
        for row, item in zip(rows[1:], items, strict=True):
            for cell, column in zip(row, columns, strict=True):
                value = column.raw(item)
                if column.kind == "number" and value is not None:
                    assert Decimal(cell) == Decimal(str(value)), (path, column.name)
                else:
                    assert cell == expected_text(column.kind, value), (path, column.name, item)


def test_the_demo_gives_every_listing_rows_to_compare(demo_api: Api) -> None:
    """The comparisons above are not over empty files."""
    for path, params, _ in cases(demo_api):
        assert all_items(demo_api, path, params), path


def _xlsx(body: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]


def test_every_listing_as_xlsx_has_typed_cells(demo_api: Api) -> None:
    for path, params, listing in cases(demo_api):
        items = all_items(demo_api, path, params)
        response = get(demo_api, path, format="xlsx", **params)
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = _xlsx(response.content)
        rows = list(sheet.iter_rows())
        columns = listing.columns(params)
        assert [c.value for c in rows[0]] == [
            header(c.name, "en", utc=c.kind == "datetime") for c in columns
        ]
        assert len(rows) - 1 == len(items), path
        for row, item in zip(rows[1:], items, strict=True):
            for cell, column in zip(row, columns, strict=True):
                check_cell(cell, column.kind, column.raw(item), item)


def check_cell(cell: Any, kind: str, value: Any, item: dict[str, Any]) -> None:
    if value is None or (value == "" and kind != "text"):
        assert cell.value is None
    elif kind == "money":
        assert isinstance(cell.value, int | float)
        assert Decimal(str(cell.value)) == Decimal(str(value)).normalize()
        places = 0 if item.get("currency") == "JPY" else 2
        assert cell.number_format == "#,##0" + ("." + "0" * places if places else "")
    elif kind == "date":
        assert cell.is_date and cell.value.date() == date.fromisoformat(value)
    elif kind == "datetime":
        moment = datetime.fromisoformat(value).replace(tzinfo=None)
        assert cell.is_date and abs((cell.value - moment).total_seconds()) < 0.001
    elif kind == "bool":
        assert cell.value is bool(value)
    elif kind in ("int", "number"):
        assert isinstance(cell.value, int | float)
        assert abs(cell.value - float(value)) < 1e-9
    else:
        assert cell.value == (str(value) if value != "" else None)


def test_headers_follow_accept_language(demo_api: Api) -> None:
    response = demo_api.client.get(
        "/backlog", params={"format": "csv"},
        headers={**Api.auth("sales"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
    )  # fmt: skip
    first = parse_csv(response.content)[0]
    assert first[:3] == ["订单号", "客户", "阶段"]
    assert "最近事件时间 (UTC)" in first
    english = parse_csv(get(demo_api, "/backlog", format="csv").content)[0]
    assert english[:3] == ["Order number", "Customer", "Stage"]


def test_filters_apply_to_the_file_as_to_the_json(demo_api: Api) -> None:
    # A complaint kind that some but not all of the demo's complaints have.
    kinds = sorted({item["kind"] for item in all_items(demo_api, "/complaints", {})})
    assert len(kinds) > 1, kinds
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/board", {"stage": "shipped"}),
        ("/board", {"flag": "overdue"}),
        ("/complaints", {"kind": kinds[0]}),
        ("/shipments", {"status": "delivered"}),
        ("/orders", {"stage": "settled"}),
        ("/reports/sales", {"group_by": "customer", "year": 2026}),
    ]
    for path, params in cases:
        wanted = all_items(demo_api, path, params)
        everything = all_items(demo_api, path, {k: v for k, v in params.items() if k == "group_by"})
        rows = parse_csv(get(demo_api, path, format="csv", **params).content)[1:]
        assert 0 < len(rows) == len(wanted) < len(everything) or path == "/reports/sales", path
        assert len(rows) == len(wanted), (path, params)


def test_limit_and_offset_page_the_json_only(demo_api: Api) -> None:
    total = get(demo_api, "/orders", limit=1).json()["total"]
    rows = parse_csv(get(demo_api, "/orders", format="csv", limit=1, offset=5).content)[1:]
    assert len(rows) == total > 5


def test_the_file_name_says_what_and_when_in_ascii_and_in_full(demo_api: Api) -> None:
    customer = busiest_customer(demo_api)
    response = get(demo_api, f"/customers/{customer}/statement", format="xlsx")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="statement-2026-06-')
    assert disposition.split('filename="')[1].split('"')[0].isascii()
    full = unquote(disposition.split("filename*=UTF-8''")[1])
    assert full.startswith(f"statement-{customer}-2026-06-") and full.endswith(".xlsx")
    sales = get(demo_api, "/reports/sales", format="csv", group_by="customer")
    assert 'filename="sales-customer-2026-06-' in sales.headers["content-disposition"]
    as_of = get(demo_api, "/board", format="csv", as_of="2026-03-31T23:59:59Z")
    assert 'filename="board-2026-03-31.csv"' in as_of.headers["content-disposition"]


def test_the_board_as_of_a_moment_exports_the_board_of_then(demo_api: Api) -> None:
    moment = "2026-03-31T23:59:59Z"
    items = all_items(demo_api, "/board", {"as_of": moment})
    rows = parse_csv(get(demo_api, "/board", format="csv", as_of=moment).content)[1:]
    assert [r[1] for r in rows] == [i["number"] for i in items]
    assert len(rows) != len(all_items(demo_api, "/board", {}))


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/board", {"format": "pdf"}, "invalid_input"),
        ("/backlog", {"format": "CSV"}, "invalid_input"),
        ("/orders", {"format": ""}, "invalid_input"),
        ("/reports/sales", {"format": "csv", "group_by": "weekday"}, "invalid_input"),
        ("/complaints", {"format": "xlsx", "status": "lost"}, "invalid_input"),
        ("/customers/某公司/statement", {"format": "csv", "from": "2026-01-01"}, "invalid_input"),
        ("/customers/某公司/statement", {"from": "2026-01-01"}, "invalid_input"),
        ("/board", {"format": "csv", "after": 10**12}, "position_not_in_log"),
    ],
)
def test_a_bad_format_or_filter_is_a_422_before_any_byte_of_a_file(
    demo_api: Api, path: str, params: dict[str, Any], code: str
) -> None:
    response = demo_api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"code", "message", "details"}
    assert response.json()["code"] == code


def test_every_role_may_export_and_no_token_may_not(demo_api: Api) -> None:
    for role in ROLES:
        assert demo_api.get("/shipments", params={"format": "csv"}, as_=role).status_code == 200
    refused = demo_api.get("/shipments", params={"format": "csv"}, as_=None)
    assert refused.status_code == 401 and refused.json()["code"] == "missing_token"


def test_the_openapi_document_lists_the_file_formats(demo_api: Api) -> None:
    paths = demo_api.client.get("/openapi.json").json()["paths"]
    backlog = paths["/backlog"]["get"]
    assert set(backlog["responses"]["200"]["content"]) >= {"application/json", "text/csv"}
    fmt = next(p for p in backlog["parameters"] if p["name"] == "format")
    assert "csv" in str(fmt["schema"]) and "pdf" not in str(fmt["schema"])
    statement = paths["/customers/{name}/statement"]["get"]
    assert "application/pdf" in statement["responses"]["200"]["content"]
    assert {"from", "to"} <= {p["name"] for p in statement["parameters"]}


def test_personal_texts_show_as_in_the_json_and_erased_after_an_erasure(tmp_path: Any) -> None:
    """The complaint register keeps its free texts sealed; a file opens them as
    the JSON does, and after the customer's erasure both read "[erased]"."""
    from fastapi.testclient import TestClient

    from ledger.api.app import create_app
    from ledger.settings import Settings

    url = f"sqlite:///{tmp_path / 'privacy.db'}"
    with TestClient(create_app(Settings(database_url=url, tokens=TOKENS))) as client:
        api = Api(client)
        order = api.order_at("invoiced")
        complaint = {"complaint_id": "C-9", "channel": "phone", "category": "包裝",
                     "description": "外箱破損，請致電 13600000000"}  # fmt: skip
        filed = api.ok(f"/orders/{order['id']}/complaints", complaint, as_="sales")
        after = {"after": str(filed["position"]), "kind": "complaint"}

        def both() -> tuple[list[str], list[dict[str, Any]]]:
            rows = parse_csv(get(api, "/complaints", format="csv", **after).content)
            items = get(api, "/complaints", **after).json()["items"]
            column = rows[0].index("Description")
            return [row[column] for row in rows[1:]], items

        texts, items = both()
        assert texts == [item["description"] for item in items] == [complaint["description"]]
        erased = api.post(f"/customers/{order['customer']['name']}/erase", as_="admin")
        assert erased.status_code == 200, erased.text
        texts, items = both()
        assert texts == [item["description"] for item in items] == ["[erased]"]
