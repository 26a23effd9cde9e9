"""Money, amount bounds and business dates through the ASGI app: an order
priced to 4 decimals is invoiced, paid and settled; amounts at 10^13 and
dates outside 2000-01-01..2099-12-31 are 422 naming the field, never a 500;
a refused invoice says which limit refused it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from api_client import ALL_CHECKS, TOKENS, Api, receipt
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRICED = [{"sku": "A", "name": "螺絲", "quantity": 3, "unit_price": "1.2345"}]


@pytest.fixture
def timed_api(database_url: str) -> Iterator[Api]:
    """The API on each backend, on a simulated clock."""
    ledger = Ledger(
        Settings(database_url=database_url, tokens=TOKENS, pool_size=3), SimulatedClock(T0)
    )
    with TestClient(create_app(ledger=ledger), raise_server_exceptions=True) as client:
        yield Api(client)
    ledger.close()


def confirmed(api: Api, *, prepayment: int = 0, due_days: int = 30, **overrides: Any) -> str:
    return str(confirm(api, prepayment=prepayment, due_days=due_days, **overrides)["id"])


def confirm(api: Api, *, prepayment: int = 0, due_days: int = 30, **overrides: Any) -> Any:
    """A new order, verified and confirmed (promised 2026-03-01): the confirmed order."""
    order = api.receive(**overrides)
    api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    terms = {"prepayment_percent": prepayment, "due_days": due_days}
    return api.ok(
        f"/orders/{order['id']}/confirm",
        {"promised_date": "2026-03-01", "payment_terms": terms},
        as_="sales",
    )


def deliver(api: Api, oid: str, sid: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    path = f"/orders/{oid}/shipments"
    api.ok(path, {"shipment_id": sid, "planned_date": "2026-03-05", "lines": lines})
    for kind in ("dispatch_note", "waybill"):
        api.ok(f"{path}/{sid}/documents", {"kind": kind, "number": kind, "status": "submitted"})
    api.ok(f"{path}/{sid}/dispatch", {"tracking_number": f"SF-{sid}"})
    return api.ok(f"{path}/{sid}/deliver", {"received_by": "李四"})


def invoice(api: Api, oid: str, number: str, amount: str, day: str = "2026-03-20") -> Any:
    body = {"invoice_number": number, "amount": amount, "issued_on": day}
    return api.post(f"/orders/{oid}/invoices", body, as_="finance")


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    return body


# -- 1: an order priced to 4 decimals settles ---------------------------------------------


def test_an_order_at_1_2345_times_3_is_invoiced_3_70_paid_and_settled(timed_api: Api) -> None:
    api = timed_api
    order = confirm(api, lines=PRICED)
    oid, after = order["id"], {"after": order["position"]}
    assert order["facets"]["total"] == "3.70"
    assert {"unit_price": "1.2345", "amount": "3.70"}.items() <= order["lines"][0].items()
    board = api.get("/board", params=after).json()
    card = next(c for col in board["columns"] for c in col["cards"] if c["order_id"] == oid)
    assert card["total"] == "3.70"
    backlog = api.get("/backlog", params=after).json()  # promised 03-01, today 03-02: late
    item = next(i for i in backlog["items"] if i["order_id"] == oid)
    assert item["open_value"] == item["lines"][0]["open_value"] == "3.70"

    deliver(api, oid, "S1", [{"sku": "A", "quantity": 1}])
    after = deliver(api, oid, "S2", [{"sku": "A", "quantity": 2}])
    assert after["facets"]["invoiceable"] == "3.70"
    assert invoice(api, oid, "INV-1", "3.70").status_code == 200
    refused(invoice(api, oid, "INV-2", "0.01"), 409, "cannot_invoice_more_than_allowed")
    refused(invoice(api, oid, "INV-2", "0.0035"), 422, "invalid_input")  # 4 decimals: never
    body = {"reference": "P-1", "amount": "3.70", "received_on": "2026-03-25"}
    api.ok(f"/orders/{oid}/payments", body, as_="finance")
    settled = api.ok(f"/orders/{oid}/settle", None, as_="finance")
    assert settled["stage"] == "settled" and settled["facets"]["outstanding"] == "0.00"
    statement = api.get(
        "/customers/上海華聯貿易有限公司/statement", params={"after": settled["position"]}
    ).json()
    line = next(i for i in statement["items"] if i["order_id"] == oid)
    assert (line["total"], line["invoiced"], line["outstanding"]) == ("3.70", "3.70", "0.00")


def test_unit_prices_show_their_4_decimals_in_answers_and_pages(api: Api) -> None:
    lines = [
        {"sku": "A", "name": "杯", "quantity": 3, "unit_price": "1.2345"},
        {"sku": "B", "name": "蓋", "quantity": 1, "unit_price": "100"},
        {"sku": "C", "name": "套", "quantity": 2, "unit_price": "0.5"},
    ]
    order = api.receive(lines=lines)
    shown = {line["sku"]: (line["unit_price"], line["amount"]) for line in order["lines"]}
    assert shown == {"A": ("1.2345", "3.70"), "B": ("100.0000", "100.00"), "C": ("0.5000", "1.00")}
    assert api.get(f"/orders/{order['id']}").json()["lines"] == order["lines"]
    page = api.client.get(f"/ui/orders/{order['id']}", headers=api.auth("auditor"))
    assert page.status_code == 200
    for text in ("1.2345", "100.0000", "0.5000", "104.70 CNY"):
        assert text in page.text
    jpy = api.receive(currency="JPY", lines=[{**lines[0], "quantity": 10**4}])
    assert jpy["facets"]["total"] == "12345"
    page = api.client.get(f"/ui/orders/{jpy['id']}", headers=api.auth("auditor"))
    assert "12,345 JPY" in page.text and "1.2345" in page.text


def test_an_amount_in_more_decimals_than_the_currency_has_is_422(api: Api) -> None:
    oid = confirmed(api, prepayment=100, currency="JPY", lines=[{**PRICED[0], "quantity": 1000}])
    body = refused(invoice(api, oid, "INV-1", "1.50"), 422, "amount_has_too_many_decimals")
    assert body["details"] == {"field": "amount", "currency": "JPY", "decimals": 0}
    assert invoice(api, oid, "INV-1", "1234").status_code == 200
    cny = confirmed(api, prepayment=100)
    refused(invoice(api, cny, "INV-1", "1.005"), 422, "amount_has_too_many_decimals")
    assert api.get(f"/orders/{cny}").json()["invoices"] == []


# -- 4: a refused invoice says which limit refused it ---------------------------------------


def test_an_invoice_before_delivery_is_refused_naming_the_prepayment_limit(api: Api) -> None:
    oid = confirmed(api)  # confirmed without a prepayment share
    body = refused(invoice(api, oid, "INV-1", "1.00"), 409, "cannot_invoice_more_than_allowed")
    assert "pre-delivery prepayment limit" in body["message"]
    assert "0% of 401.00 = 0.00" in body["message"]
    assert body["details"]["limit"] == "prepayment"
    assert body["details"]["prepayment_percent"] == "0"
    thirty = confirmed(api, prepayment=30)
    body = refused(invoice(api, thirty, "INV-1", "200.00"), 409, "cannot_invoice_more_than_allowed")
    assert "30% of 401.00 = 120.30" in body["message"] and "at most 120.30 more" in body["message"]


# -- 2: bounds -------------------------------------------------------------------------------

BIG = "9999999999999.9999"


def _count(api: Api) -> int:
    return int(api.get("/orders", params={"customer": "上海華聯貿易有限公司"}).json()["total"])


@pytest.mark.parametrize(
    ("lines", "loc"),
    [
        ([{"sku": "A", "name": "x", "quantity": 10**9, "unit_price": BIG}], ["body", "lines", "0"]),
        (
            [
                {"sku": "A", "name": "x", "quantity": 1, "unit_price": "6000000000000"},
                {"sku": "B", "name": "x", "quantity": 1, "unit_price": "6000000000000"},
            ],
            ["body", "lines"],
        ),
        ([{"sku": "A", "name": "x", "quantity": 1, "unit_price": "10000000000000"}], None),
    ],
    ids=["line amount", "order total", "unit price"],
)
def test_a_receipt_at_or_beyond_10_13_is_422_naming_the_field(
    api: Api, lines: list[dict[str, Any]], loc: list[str] | None
) -> None:
    before = _count(api)
    body = refused(api.post("/orders", receipt(lines=lines), as_="sales"), 422, "invalid_input")
    locs = [detail["loc"] for detail in body["details"]]
    assert (loc in locs) if loc is not None else ["body", "lines", "0", "unit_price"] in locs
    assert _count(api) == before


def test_a_line_that_rounds_up_to_10_13_is_422_naming_the_line(api: Api) -> None:
    lines = [{"sku": "A", "name": "x", "quantity": 1, "unit_price": BIG}]
    body = refused(api.post("/orders", receipt(lines=lines), as_="sales"), 422, "amount_too_large")
    assert body["details"]["field"] == "lines[0].amount"
    assert body["details"]["amount"] == "10000000000000.00"


def test_an_amendment_or_a_merge_beyond_10_13_is_422(api: Api) -> None:
    six = [{"sku": "A", "name": "x", "quantity": 1, "unit_price": "6000000000000"}]
    first, second = api.receive(lines=six), api.receive(lines=six)
    amend = {"reason": "加量", "lines": [{**six[0], "quantity": 2}]}
    body = refused(
        api.post(f"/orders/{first['id']}/amend", amend, as_="sales"), 422, "invalid_input"
    )
    assert ["body", "lines", "0"] in [d["loc"] for d in body["details"]]
    merge = api.post("/orders/merge", {"order_ids": [first["id"], second["id"]]}, as_="sales")
    body = refused(merge, 422, "amount_too_large")
    assert body["details"]["field"] == "lines[0].amount" and "merged" in body["message"]
    assert api.get(f"/orders/{first['id']}").json()["version"] == first["version"]
    assert api.get(f"/orders/{second['id']}").json()["stage"] == "received"


def test_an_invoice_of_10_13_is_422_naming_the_amount(api: Api) -> None:
    oid = confirmed(api, prepayment=100)
    body = refused(invoice(api, oid, "INV-1", "10000000000000"), 422, "invalid_input")
    assert ["body", "amount"] in [d["loc"] for d in body["details"]]


# -- 3: business dates ------------------------------------------------------------------------

OUTSIDE = ["1999-12-31", "2100-01-01", "9999-12-31", "0001-01-01"]


def _commands(oid: str, day: str) -> list[tuple[str, dict[str, Any], str]]:
    """(path, body, field) for every command that takes a business date."""
    return [
        ("/orders", receipt(requested_date=day), "requested_date"),
        (f"/orders/{oid}/amend", {"reason": "x", "requested_date": day}, "requested_date"),
        (f"/orders/{oid}/confirm", {"promised_date": day}, "promised_date"),
        (f"/orders/{oid}/promises", {"promised_date": day, "reason": "x"}, "promised_date"),
        (
            f"/orders/{oid}/shipments",
            {"planned_date": day, "lines": [{"sku": "A-100", "quantity": 1}]},
            "planned_date",
        ),
        (
            f"/orders/{oid}/shipments/S1/reschedule",
            {"planned_date": day, "reason": "x"},
            "planned_date",
        ),
        (
            f"/orders/{oid}/purchases",
            {"supplier": "x", "items": [{"part": "p", "quantity": 1}], "eta": day},
            "eta",
        ),
        (
            f"/orders/{oid}/invoices",
            {"invoice_number": "I-9", "amount": "1.00", "issued_on": day},
            "issued_on",
        ),
        (
            f"/orders/{oid}/payments",
            {"reference": "P-9", "amount": "1.00", "received_on": day},
            "received_on",
        ),
        (f"/orders/{oid}/hold", {"reason": "x", "occurred_at": f"{day}T12:00:00"}, "occurred_at"),
    ]


@pytest.mark.parametrize("day", OUTSIDE)
def test_a_body_date_outside_the_business_range_is_422_naming_it(api: Api, day: str) -> None:
    oid = confirmed(api, prepayment=100)
    version = api.get(f"/orders/{oid}").json()["version"]
    for path, body, field in _commands(oid, day):
        response = api.post(path, body, as_="merchandiser")
        details = refused(response, 422, "invalid_input")["details"]
        assert ["body", field] in [d["loc"] for d in details], (path, details)
        assert "2000-01-01 and 2099-12-31" in str(details)
    assert api.get(f"/orders/{oid}").json()["version"] == version


@pytest.mark.parametrize("day", OUTSIDE)
def test_a_query_date_outside_the_business_range_is_422_naming_it(api: Api, day: str) -> None:
    oid = api.receive()["id"]
    moment = f"{day}T23:59:59"
    for path, name, value in [
        (f"/orders/{oid}", "as_of", moment),
        ("/board", "as_of", moment),
        ("/backlog", "as_of", moment),
        ("/orders", "created_from", day),
        ("/orders", "created_to", day),
        ("/reports/sales", "year", day[:4]),
        ("/reports/lead-times", "year", day[:4]),
    ]:
        details = refused(api.get(path, params={name: value}), 422, "invalid_input")["details"]
        assert ["query", name] in [d["loc"] for d in details], (path, details)


@pytest.mark.parametrize("path", ["/ui/backlog", "/ui/board", "/ui/board/fragment"])
def test_a_page_as_of_a_day_outside_the_range_is_422_not_a_500(api: Api, path: str) -> None:
    headers = api.auth("auditor")
    for day in ("9999-12-31", "0001-01-01", "2100-01-01"):
        refused(api.client.get(path, params={"as_of": day}, headers=headers), 422, "invalid_input")
    assert api.client.get(path, params={"as_of": "2099-12-31"}, headers=headers).status_code == 200
    page = api.client.get(path, headers=headers)
    if path != "/ui/board/fragment":
        assert 'min="2000-01-01" max="2099-12-31"' in page.text


def test_the_ends_of_the_range_are_accepted_and_read_back(timed_api: Api) -> None:
    api = timed_api
    oid = confirmed(api, prepayment=100, due_days=365)
    issued = invoice(api, oid, "INV-1", "1.00", day="2099-12-31")
    assert issued.status_code == 200
    after = {"after": issued.json()["position"]}
    answer = api.get("/customers/上海華聯貿易有限公司/statement", params=after)
    line = next(i for i in answer.json()["items"] if i["order_id"] == oid)
    assert line["due_date"] == "2100-12-31"  # issued on + 365 days, past the range itself
    for path in ("/board", "/backlog", f"/orders/{oid}"):
        assert api.get(path, params={"as_of": "2099-12-31T23:59:59.999999"}).status_code == 200
    for path in ("/board", "/backlog"):
        assert api.get(path, params={"as_of": "2000-01-01T00:00:00+14:00"}).status_code == 200
    early = api.get(f"/orders/{oid}", params={"as_of": "2000-01-01T00:00:00+14:00"})
    assert early.status_code == 404  # in range, before the order existed


def test_a_date_recorded_before_the_range_existed_reads_without_a_500(api: Api) -> None:
    """Old events stay as they are: an invoice recorded as issued on 9999-12-31
    (accepted before this range) still gives a statement and every view."""
    oid = confirmed(api, prepayment=100, customer={"name": "舊客戶"})
    ledger: Ledger = api.client.app.state.ledger  # type: ignore[attr-defined]

    def legacy(order: Any) -> list[Any]:  # the event as the old guards let it through
        order.trigger_event(
            order.OrderInvoiced, invoice_number="INV-OLD", amount=Decimal("1.00"),
            issued_on=date(9999, 12, 31), lines=[],
        )  # fmt: skip
        return []

    written = ledger._command(Ctx(actor="legacy"), UUID(oid), "legacy", {}, legacy)
    after = {"after": written.position}
    statement = api.get("/customers/舊客戶/statement", params=after)
    assert statement.status_code == 200, statement.text
    line = statement.json()["items"][0]
    assert line["due_date"] == "9999-12-31" and line["overdue"] is False
    overdue = api.get("/customers/舊客戶/statement", params={**after, "overdue_only": True})
    assert overdue.json()["total"] == 0
    for path in ("/board", "/backlog", "/reports/sales", f"/orders/{oid}"):
        assert api.get(path, params=after if path != f"/orders/{oid}" else None).status_code == 200
    page = api.client.get(f"/ui/orders/{oid}", headers=api.auth("auditor"))
    assert page.status_code == 200 and "9999-12-31" in page.text
