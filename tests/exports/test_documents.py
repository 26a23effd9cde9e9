"""The printable documents, read back as text with poppler's ``pdftotext``: the
customer statement (totals against the statement read model, periods, both
languages) and a shipment's dispatch note and packing list."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from api_client import ROLES, TOKENS, Api
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.settings import Settings

CUSTOMER = "上海華聯貿易有限公司"
STATEMENT = f"/customers/{quote(CUSTOMER)}/statement"


@pytest.fixture(scope="module")
def pdftotext() -> str:
    path = shutil.which("pdftotext")
    if path is None:
        reason = "pdftotext is not installed (apt-get install poppler-utils poppler-data)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def text_of(pdf: bytes, pdftotext: str, tmp: Path) -> str:
    assert pdf.startswith(b"%PDF-")
    source = tmp / "document.pdf"
    source.write_bytes(pdf)
    done = subprocess.run([pdftotext, "-layout", str(source), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def figure(text: str, label: str) -> Decimal:
    """The amount on the line of ``label`` (thousands separators dropped)."""
    line = next(line for line in text.splitlines() if label in line)
    return Decimal(re.findall(r"-?[\d,]+\.\d{2}", line)[-1].replace(",", ""))


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, Any]]]:
    """Two orders of one customer: A invoiced 401.00 on 21 Oct, credited 50.00 on
    2 Nov, paid 200.00 on 5 Nov; B delivered and invoiced 401.00 on 10 Nov."""
    url = f"sqlite:///{tmp_path_factory.mktemp('documents') / 'books.db'}"
    app = create_app(Settings(database_url=url, tokens=TOKENS, company_name="華東跟單有限公司",
                              company_address="上海市黃浦區中山東一路1號"))  # fmt: skip
    with TestClient(app, raise_server_exceptions=True) as client:
        api = Api(client)
        a = api.order_at("invoiced")
        credit = {"credit_note_number": "CN-1", "amount": "50.00", "reason": "外箱破損補償",
                  "invoice_number": "INV-1", "occurred_at": "2026-11-02T09:00:00Z"}  # fmt: skip
        api.ok(f"/orders/{a['id']}/credit-notes", credit, as_="finance")
        payment = {"reference": "PAY-A", "amount": "200.00", "received_on": "2026-11-05"}
        api.ok(f"/orders/{a['id']}/payments", payment, as_="finance")
        b = api.order_at("delivered")
        invoice = {"invoice_number": "INV-B", "amount": "401.00", "issued_on": "2026-11-10"}
        last = api.ok(f"/orders/{b['id']}/invoices", invoice, as_="finance")
        yield api, {"a": a, "b": b, "after": str(last["position"])}


def statement_pdf(api: Api, language: str | None = None, **params: str) -> bytes:
    headers = {**Api.auth("finance"), **({"Accept-Language": language} if language else {})}
    response = api.client.get(STATEMENT, params={"format": "pdf", **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return response.content


def test_the_statement_closes_on_the_read_models_outstanding_amount(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, orders = books
    totals = api.get(STATEMENT, params={"after": orders["after"]}).json()["totals"]["CNY"]
    text = text_of(statement_pdf(api, after=orders["after"]), pdftotext, tmp_path)
    assert "对账单" in text and CUSTOMER in text and "華東跟單有限公司" in text
    assert figure(text, "期初余额") == 0
    assert figure(text, "本期开票") == Decimal(totals["invoiced"]) == Decimal("802.00")
    assert figure(text, "本期冲减") == Decimal(totals["credited"]) == Decimal("50.00")
    assert figure(text, "本期收款") == Decimal(totals["paid"]) == Decimal("200.00")
    assert figure(text, "期末余额") == Decimal(totals["outstanding"]) == Decimal("552.00")
    for reference in ("INV-1", "CN-1", "PAY-A", "INV-B", "2026-11-02", "2026-11-10"):
        assert reference in text


def test_a_period_opens_on_what_came_before_it(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, orders = books
    period = {"from": "2026-11-01", "to": "2026-11-30", "after": orders["after"]}
    november = text_of(statement_pdf(api, **period),
                       pdftotext, tmp_path)  # fmt: skip
    assert "2026-11-01 – 2026-11-30" in november
    assert figure(november, "期初余额") == Decimal("401.00")  # INV-1 of 21 October
    assert figure(november, "本期开票") == Decimal("401.00")
    assert figure(november, "期末余额") == Decimal("552.00")
    assert "INV-1" not in november and "上期结转" in november
    october = text_of(
        statement_pdf(api, to="2026-10-31", after=orders["after"]), pdftotext, tmp_path
    )
    assert figure(october, "期末余额") == Decimal("401.00")
    assert orders["b"]["number"] not in october  # nothing of B before November
    assert "PAY-A" not in october


def test_the_statement_speaks_english_when_asked(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, orders = books
    text = text_of(statement_pdf(api, "en-GB,en;q=0.9", after=orders["after"]), pdftotext, tmp_path)
    assert "Statement of account" in text and "对账单" not in text
    assert figure(text, "Closing balance") == Decimal("552.00")
    assert CUSTOMER in text  # names stay as they are


@pytest.mark.parametrize(
    "params",
    [{"from": "2026-12-01", "to": "2026-11-01"}, {"from": "1999-12-31"}, {"to": "2100-01-01"},
     {"from": "someday"}],
)  # fmt: skip
def test_a_bad_period_is_refused(books: tuple[Api, dict[str, Any]], params: dict[str, str]) -> None:
    api, _ = books
    response = api.get(STATEMENT, params={"format": "pdf", **params})
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "details"}


def test_a_customer_without_orders_gets_an_empty_statement(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, _ = books
    response = api.get("/customers/無此客戶/statement", params={"format": "pdf"})
    assert response.status_code == 200
    assert "本期无往来记录" in text_of(response.content, pdftotext, tmp_path)


def test_the_dispatch_note_carries_the_order_number_consignee_and_lines(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, orders = books
    order = orders["a"]
    response = api.get(f"/orders/{order['id']}/shipments/SH-1/dispatch-note.pdf", as_="warehouse")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert f"dispatch-note-{order['number']}-SH-1.pdf" in response.headers["content-disposition"]
    text = text_of(response.content, pdftotext, tmp_path)
    assert "发货单" in text and order["number"] in text
    for fact in ("SH-1", "DN-1", "SF123", "順豐", "王小明", "上海市浦東新區世紀大道100號"):
        assert fact in text
    assert re.search(r"A-100\s+不鏽鋼保溫杯\s+3\b", text) and re.search(r"B-200\s+杯套\s+2\b", text)
    assert re.search(r"合计数量\s+5\b", text)
    assert "100.00" not in text and "401" not in text  # no prices travel with the goods


def test_the_packing_list_adds_packages_and_labels_in_either_language(
    books: tuple[Api, dict[str, Any]], pdftotext: str, tmp_path: Path
) -> None:
    api, orders = books
    path = f"/orders/{orders['b']['id']}/shipments/SH-1/packing-list.pdf"
    chinese = text_of(api.get(path).content, pdftotext, tmp_path)
    assert "装箱单" in chinese and re.search(r"件数\s+2", chinese) and "易碎" in chinese
    english = api.client.get(path, headers={**Api.auth("sales"), "Accept-Language": "en"})
    text = text_of(english.content, pdftotext, tmp_path)
    assert "Packing list" in text and re.search(r"Packages\s+2", text)
    assert orders["b"]["number"] in text


def test_every_role_may_print_and_unknown_shipments_are_404(
    books: tuple[Api, dict[str, Any]],
) -> None:
    api, orders = books
    path = f"/orders/{orders['a']['id']}/shipments/SH-1/dispatch-note.pdf"
    for role in ROLES:
        assert api.get(path, as_=role).status_code == 200
    assert api.get(path, as_=None).status_code == 401
    missing = api.get(f"/orders/{orders['a']['id']}/shipments/SH-9/packing-list.pdf")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_shipment"
    unknown = api.get(
        "/orders/00000000-0000-0000-0000-000000000000/shipments/SH-1/dispatch-note.pdf"
    )
    assert unknown.status_code == 404
