"""Orders exported in the import template's layout (``?format=template-csv|template-xlsx``
on ``GET /orders`` and ``GET /board``): a row per line with the order's JSON values,
headers in the caller's language, and a file the import reads back as the same orders."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from api_client import TOKENS, Api
from export_support import get
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.aggregates.values import CHANNELS, TRANSPORT_MODES
from ledger.api.app import create_app
from ledger.api.intake.checking import check_file
from ledger.api.schemas import ReceiveIn
from ledger.exports.template import ORDERS_TEMPLATE, line_rows
from ledger.formats.sheets import Sheet, csv_chunks, write_xlsx
from ledger.settings import Settings
from ledger.sheets.template import COLUMNS

KEYS = [column.key for column in COLUMNS]
EN = [column.en for column in COLUMNS]
ZH = [column.zh for column in COLUMNS]


def expected_rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's lines as the template's cells, from its JSON (written here independently)."""
    customer, delivery = order["customer"], order["delivery"]
    head = {
        "customer_ref": order["number"], "channel": order["channel"],
        "customer_name": customer["name"], "customer_phone": customer["phone"],
        "customer_email": customer["email"], "customer_address": customer["address"],
        "delivery_address": delivery["address"], "consignee": delivery["consignee"],
        "consignee_phone": delivery["phone"], "transport_mode": delivery["transport_mode"],
        "currency": order["currency"], "requested_date": order["requested_date"],
    }  # fmt: skip
    return [
        {
            **head,
            "sku": line["sku"],
            "product_name": line["name"],
            "model": line["model"],
            "spec": line["spec"],
            "quantity": line["quantity"],
            "unit_price": Decimal(line["unit_price"]),
        }
        for line in order["lines"]
    ]


def orders_of(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every order a listing holds (as the JSON lists them), each read whole."""
    if path == "/board":
        board = get(api, path, limit=500, **params).json()
        ids = [card["order_id"] for column in board["columns"] for card in column["cards"]]
    else:
        ids = [item["order_id"] for item in get(api, path, limit=500, **params).json()["items"]]
    return [get(api, f"/orders/{order_id}").json() for order_id in ids]


def xlsx_rows(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    items = [_typed(dict(zip(KEYS, row, strict=True))) for row in rows[1:]]
    return [str(header) for header in rows[0]], items


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """An XLSX row as the JSON has it: empty text is "", a date its ISO day."""
    for key, value in row.items():
        if value is None and key != "requested_date":
            row[key] = ""
        elif isinstance(value, datetime):
            assert key == "requested_date" and value.time() == datetime.min.time()
            row[key] = value.date().isoformat()
    row["unit_price"] = Decimal(repr(row["unit_price"]))
    return row


def csv_rows(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    found = []
    for row in rows[1:]:
        item: dict[str, Any] = dict(zip(KEYS, row, strict=True))
        item["quantity"] = int(item["quantity"])
        item["unit_price"] = Decimal(item["unit_price"])
        item["requested_date"] = item["requested_date"] or None
        found.append(item)
    return rows[0], found


def escaped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text as a CSV writes it: an apostrophe before a formula character or an apostrophe."""
    starts = ("=", "+", "-", "@", "\t", "\r", "'")
    return [
        {k: "'" + v if isinstance(v, str) and v.startswith(starts) else v for k, v in row.items()}
        for row in rows
    ]


def test_every_order_found_is_a_row_per_line_with_its_json_values(demo_api: Api) -> None:
    orders = orders_of(demo_api, "/orders")
    expected = [row for order in sorted(orders, key=lambda o: o["number"])
                for row in expected_rows(order)]  # fmt: skip
    assert len(orders) == 60 and len(expected) > 60
    response = get(demo_api, "/orders", format="template-xlsx")
    headers, rows = xlsx_rows(response.content)
    assert headers == EN and rows == expected
    assert "filename*=UTF-8''orders-template-2026-06-" in response.headers["content-disposition"]
    zh = {**Api.auth("auditor"), "Accept-Language": "zh"}
    response = demo_api.client.get("/orders", params={"format": "template-csv"}, headers=zh)
    headers, rows = csv_rows(response.content)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert headers == ZH and rows == escaped(expected)
    assert any(row["customer_phone"].startswith("'+") for row in rows), "a phone +34... is escaped"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/orders", {"stage": "received"}),
        ("/orders", {"customer": "Luz y Fuerza S.L.", "created_from": "2024-01-01"}),
        ("/board", {}),
        ("/board", {"stage": "in_production"}),
        ("/board", {"flag": "overdue"}),
    ],
)
def test_the_listings_filters_choose_the_orders(
    demo_api: Api, path: str, params: dict[str, Any]
) -> None:
    orders = orders_of(demo_api, path, **params)
    if path == "/orders":
        orders.sort(key=lambda o: o["number"])
    assert orders, "each filter finds some of the demo's orders"
    _, rows = xlsx_rows(get(demo_api, path, format="template-xlsx", **params).content)
    assert rows == [row for order in orders for row in expected_rows(order)]


def test_a_past_board_gives_its_orders_as_they_were(demo_api: Api) -> None:
    as_of = "2026-03-31T12:00:00Z"
    board = get(demo_api, "/board", limit=500, as_of=as_of).json()
    ids = [card["order_id"] for column in board["columns"] for card in column["cards"]]
    then = [get(demo_api, f"/orders/{i}", as_of=as_of).json() for i in ids]
    now = [get(demo_api, f"/orders/{i}").json() for i in ids]
    assert 0 < len(then) < 60
    _, rows = csv_rows(get(demo_api, "/board", format="template-csv", as_of=as_of).content)
    assert rows == escaped([row for order in then for row in expected_rows(order)])
    assert (
        "board-orders-template-2026-03-31.csv"
        in get(demo_api, "/board", format="template-csv", as_of=as_of).headers[
            "content-disposition"
        ]
    )
    assert then != now, "some of these orders changed since (amended, confirmed...)"


def test_every_demo_order_reads_back_as_its_receive_body(demo_api: Api) -> None:
    """All 60 orders, every stage: the import's dry run finds each as its JSON has it."""
    orders = {order["number"]: order for order in orders_of(demo_api, "/orders")}
    for fmt in ("csv", "xlsx"):
        intake = check_file(get(demo_api, "/orders", format=f"template-{fmt}").content)
        assert intake.valid and intake.problems == [] and len(intake.drafts) == len(orders)
        for draft in intake.drafts:
            assert draft.body == ReceiveIn.model_validate(_body(orders[draft.ref])), draft.ref


def _body(order: dict[str, Any]) -> dict[str, Any]:
    lines = [{k: line[k] for k in ("sku", "name", "model", "spec", "quantity", "unit_price")}
             for line in order["lines"]]  # fmt: skip
    return {"channel": order["channel"], "customer": order["customer"], "lines": lines,
            "delivery": order["delivery"], "currency": order["currency"],
            "requested_date": order["requested_date"]}  # fmt: skip


def test_an_unknown_layout_or_filter_is_refused_before_any_file(demo_api: Api) -> None:
    response = demo_api.get("/orders", params={"format": "templates-xlsx"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    assert "template-xlsx" in response.text
    response = demo_api.get("/board", params={"format": "template-xlsx", "flag": "late"})
    assert response.status_code == 422 and set(response.json()) == {"code", "message", "details"}
    backlog = demo_api.get("/backlog", params={"format": "template-csv"})
    assert backlog.status_code == 422, "only the order listings have the template layout"


def test_personal_data_shows_as_in_the_json_and_erased_after_an_erasure(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'privacy.db'}"
    with TestClient(create_app(Settings(database_url=url, tokens=TOKENS))) as client:
        api = Api(client)
        order = api.receive()
        after = {"after": str(order["position"])}

        def row() -> dict[str, Any]:
            _, rows = csv_rows(get(api, "/orders", format="template-csv", **after).content)
            assert len(rows) == len(order["lines"])
            return rows[0]

        assert row() == expected_rows(get(api, f"/orders/{order['id']}").json())[0]
        assert row()["customer_phone"] == "021-5555-0101"
        erased = api.post(f"/customers/{order['customer']['name']}/erase", as_="admin")
        assert erased.status_code == 200, erased.text
        shown = get(api, f"/orders/{order['id']}").json()
        assert shown["customer"]["phone"] == "[erased]"
        assert row() == expected_rows(shown)[0]


# -- the property: export as the template, parse the file, get the same bodies ---------

# Text as the API takes it and the import gives back: no control characters, no
# leading or trailing space (the import trims every cell, as typed spreadsheets need).
_CHARS = st.characters(exclude_categories=["Cs", "Cc"])
_INNER = st.characters(exclude_categories=["Cs", "Cc"], include_characters="\n\t\r")


def _text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    inner = st.text(_INNER, max_size=max(max_size - 2, 0))
    framed = st.tuples(st.text(_CHARS, min_size=1, max_size=1), inner, st.text(_CHARS, max_size=1))
    whole = framed.map("".join).filter(lambda t: t == t.strip() and len(t) <= max_size)
    return whole if min_size else st.one_of(st.just(""), whole)


# Codes (SKU, phone, e-mail) are read NFKC-normalised: draw them from what NFKC keeps.
_CODE = st.text(st.sampled_from("ABCXYZabc0123456789-_./+() @#=中文"), min_size=1, max_size=20)
CODE = _CODE.map(str.strip).filter(bool)
# Everyday prices, and prices of 16 significant digits, which a double cannot hold
# (the XLSX then has the price as text). At most 5 lines of 9 keep the total below 10^13.
PRICES = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=10**11, max_value=2 * 10**11, places=4, allow_nan=False),
)


@st.composite
def receive_bodies(draw: st.DrawFn) -> ReceiveIn:
    skus = draw(st.lists(CODE, min_size=1, max_size=5, unique=True))
    lines = [
        {
            "sku": sku,
            "name": draw(_text(1, 60)),
            "model": draw(_text(0, 20)),
            "spec": draw(_text(0, 30)),
            "quantity": draw(st.integers(1, 9)),
            "unit_price": draw(PRICES),
        }
        for sku in skus
    ]
    body = {
        "channel": draw(st.sampled_from(CHANNELS)),
        "customer": {"name": draw(_text(1, 60)), "phone": draw(st.one_of(st.just(""), CODE)),
                     "email": draw(st.one_of(st.just(""), CODE)), "address": draw(_text(0, 80))},
        "delivery": {"address": draw(_text(1, 80)), "consignee": draw(_text(1, 30)),
                     "phone": draw(st.one_of(st.just(""), CODE)),
                     "transport_mode": draw(st.sampled_from(TRANSPORT_MODES))},
        "currency": draw(st.sampled_from(["CNY", "USD", "EUR", "JPY", "KWD"])),
        "requested_date": draw(st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        "lines": lines,
    }  # fmt: skip
    return ReceiveIn.model_validate(body)


def written(bodies: list[ReceiveIn], fmt: str, lang: str) -> bytes:
    """The bodies as ``GET /orders?format=template-<fmt>`` writes orders."""
    items = [row for n, body in enumerate(bodies)
             for row in line_rows(f"REF-{n}", body.model_dump())]  # fmt: skip
    assert ORDERS_TEMPLATE.headers is not None
    headers = ORDERS_TEMPLATE.headers(lang)
    sheet = Sheet("orders-template", headers, ORDERS_TEMPLATE.columns({}), iter(items))
    if fmt == "csv":
        return b"".join(csv_chunks(sheet))
    out = io.BytesIO()
    write_xlsx(sheet, out)
    return out.getvalue()


def _tricky(fmt: str) -> tuple[list[ReceiveIn], str, str]:
    """Texts a spreadsheet would take for something else; prices a double cannot hold."""
    texts = ["=SUM(A1)", "'=1+1", "''x", "-5", "@home", "a\r\nb", "_x0041_", "TRUE", "46143",
             "2026-05-01", "🙂 全角，标点　空格", "1e5"]  # fmt: skip
    lines = [{"sku": f"S{n}", "name": text, "model": text, "spec": text, "quantity": 3,
              "unit_price": Decimal("123456789012.3456") if n % 2 else Decimal("0.0001")}
             for n, text in enumerate(texts)]  # fmt: skip
    body = {"channel": "phone", "customer": {"name": "'+86", "phone": "+86 21 5555 0101",
            "email": "=x@example.cn", "address": "-"}, "currency": "KWD", "lines": lines,
            "delivery": {"address": "@", "consignee": "=", "phone": "0123"},
            "requested_date": "2099-12-31"}  # fmt: skip
    return [ReceiveIn.model_validate(body)], fmt, "zh"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(receive_bodies(), min_size=1, max_size=4),
    st.sampled_from(["csv", "xlsx"]),
    st.sampled_from(["en", "zh"]),
)
@example(*_tricky("csv"))
@example(*_tricky("xlsx"))
def test_orders_written_as_the_template_read_back_as_the_same_receive_bodies(
    bodies: list[ReceiveIn], fmt: str, lang: str
) -> None:
    intake = check_file(written(bodies, fmt, lang))
    assert [(p.code, p.row, p.column, p.value) for p in intake.problems] == []
    assert [draft.ref for draft in intake.drafts] == [f"REF-{n}" for n in range(len(bodies))]
    for draft, body in zip(intake.drafts, bodies, strict=True):
        assert draft.body == body
