"""POST /imports and GET /imports/template.xlsx: a dry run records nothing,
a commit records every order of a valid file or none, the same file twice
records nothing the second time, messages come in the caller's language."""

from __future__ import annotations

import io
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from api_client import ROLES, TOKENS, Api
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from ledger.api.app import create_app
from ledger.api.intake.commit import idempotency_key
from ledger.application import Ledger
from ledger.persistence.records import LedgerRecorder
from ledger.settings import Settings
from order_files import csv_bytes, order_rows, xlsx_bytes

RECEIVERS = ("sales", "merchandiser")


def upload(
    api: Api, data: bytes, *, commit: bool = False, as_: str | None = "merchandiser",
    name: str = "orders.xlsx", lang: str = "en",
) -> httpx.Response:  # fmt: skip
    headers = {**api.auth(as_), "Accept-Language": lang}
    params = {"commit": "true"} if commit else {}
    return api.client.post("/imports", params=params, files={"file": (name, data)}, headers=headers)


def ledger_of(api: Api) -> Ledger:
    client = api.client
    assert isinstance(client, TestClient)
    ledger: Ledger = client.app.state.ledger  # type: ignore[attr-defined]
    return ledger


def events(api: Api) -> int:
    return ledger_of(api).recorder.max_notification_id() or 0


def test_a_dry_run_reports_the_orders_and_records_nothing(api: Api) -> None:
    before = events(api)
    response = upload(api, xlsx_bytes(order_rows(3, lines=2)))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["valid"] and not report["committed"]
    assert report["summary"] == {
        "rows": 6, "orders": 3, "valid_orders": 3, "lines": 6, "problems": 0,
        "recorded": None, "already_recorded": None,
    }  # fmt: skip
    assert [o["customer_ref"] for o in report["orders"]] == ["PO-000001", "PO-000002", "PO-000003"]
    assert all("number" not in o or o["number"] is None for o in report["orders"])
    assert events(api) == before


def test_a_commit_records_each_order_as_the_file_has_it(api: Api) -> None:
    rows = order_rows(2, lines=3)
    response = upload(api, xlsx_bytes(rows), commit=True)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["summary"]["recorded"] == 2 and report["summary"]["already_recorded"] == 0
    for entry in report["orders"]:
        order = ledger_of(api).get_order(UUID(entry["order_id"]))
        mine = [r for r in rows if r["customer_ref"] == entry["customer_ref"]]
        assert order.number == entry["number"] and order.stage == "received"
        assert order.customer.name == mine[0]["customer_name"]
        assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.values()] == [
            (r["sku"], r["quantity"], Decimal(str(r["unit_price"]))) for r in mine
        ]
        assert order.delivery.address == mine[0]["delivery_address"]
        assert order.requested_date == mine[0]["requested_date"]


def test_the_same_file_twice_records_nothing_the_second_time_and_says_so(
    any_backend_api: Api,
) -> None:
    api = any_backend_api
    data = xlsx_bytes(order_rows(12, lines=2))
    first = upload(api, data, commit=True)
    assert first.status_code == 201, first.text
    after_first = events(api)
    second = upload(api, data, commit=True, name="orders (copy).xlsx", lang="zh")
    assert second.status_code == 200, second.text
    report = second.json()
    assert report["summary"]["recorded"] == 0 and report["summary"]["already_recorded"] == 12
    assert "此前已导入" in report["message"]
    assert {o["status"] for o in report["orders"]} == {"already_recorded"}
    assert [o["number"] for o in report["orders"]] == [o["number"] for o in first.json()["orders"]]
    assert events(api) == after_first


def test_each_orders_idempotency_key_is_the_files_hash_and_its_reference(api: Api) -> None:
    data = xlsx_bytes(order_rows(1))
    report = upload(api, data, commit=True).json()
    history = ledger_of(api).history(UUID(report["orders"][0]["order_id"]))
    key = idempotency_key(report["file"]["sha256"], "PO-000001")
    assert history[0].meta["idempotency_key"].endswith(key)
    assert "PO-000001" in history[0].meta["reason"]


def test_a_changed_file_is_another_file(api: Api) -> None:
    rows = order_rows(2)
    upload(api, xlsx_bytes(rows), commit=True)
    rows[0]["quantity"] += 1
    report = upload(api, xlsx_bytes(rows), commit=True).json()
    assert report["summary"]["recorded"] == 2


def test_a_commit_of_a_file_with_a_problem_records_nothing(api: Api) -> None:
    rows = order_rows(3)
    rows[4]["quantity"] = "many"
    before = events(api)
    response = upload(api, xlsx_bytes(rows), commit=True)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "file_has_problems" and "Nothing is recorded" in body["message"]
    assert body["details"]["problems"] == [
        {"row": 6, "column": "quantity", "cell": "Q6", "value": "many", "code": "not_a_number",
         "message": "Not a number."}
    ]  # fmt: skip
    assert events(api) == before


def test_an_unreadable_file_is_a_report_on_a_dry_run_and_422_on_a_commit(api: Api) -> None:
    dry = upload(api, b"%PDF-1.4 not orders", name="orders.pdf", lang="zh")
    assert dry.status_code == 200 and not dry.json()["valid"]
    assert dry.json()["problems"][0]["message"].startswith("这不是电子表格")
    refused = upload(api, b"%PDF-1.4 not orders", commit=True)
    assert refused.status_code == 422 and refused.json()["code"] == "file_unreadable"


def test_problems_are_reported_in_the_callers_language_at_their_cells(api: Api) -> None:
    rows = order_rows(2)
    rows[1]["customer_name"] = "另一家公司"  # the same order, another customer
    rows[2]["unit_price"] = "12.34567"
    text = csv_bytes(rows, "gb18030")
    report = upload(api, text, name="订单.csv", lang="zh-CN,zh;q=0.9").json()
    assert report["file"]["encoding"] == "gb18030" and report["file"]["name"] == "订单.csv"
    assert [(p["cell"], p["code"]) for p in report["problems"]] == [
        ("C3", "differs_in_order"), ("R4", "decimal_max_places")]  # fmt: skip
    assert report["problems"][0]["message"].startswith("与同一订单第 2 行不一致")
    assert report["problems"][1]["message"] == "最多 4 位小数。"


def test_a_gb18030_csv_commits_with_its_chinese_intact(api: Api) -> None:
    rows = order_rows(2)
    report = upload(api, csv_bytes(rows, "gb18030"), commit=True, name="orders.csv").json()
    order = ledger_of(api).get_order(UUID(report["orders"][0]["order_id"]))
    assert order.customer.name == rows[0]["customer_name"]
    assert next(iter(order.lines.values())).name == rows[0]["product_name"]


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_that_may_receive_orders_may_import(api: Api, role: str) -> None:
    data = xlsx_bytes(order_rows(1))
    response = upload(api, data, commit=True, as_=role)
    if role in RECEIVERS:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert upload(api, data, as_=None).status_code == 401


def test_without_a_file_the_request_is_invalid(api: Api) -> None:
    response = api.client.post("/imports", headers=api.auth("sales"), data={"x": "1"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"


def test_an_upload_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    response = upload(api, b"a" * (11 * 2**20))
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_other_requests_keep_the_1_mb_limit(api: Api) -> None:
    response = api.client.post(
        "/orders", content=b"{" + b" " * (2**20 + 10) + b"}", headers=api.auth("sales")
    )
    assert response.status_code == 413


def test_the_template_has_both_languages_and_one_example_order_of_two_lines(api: Api) -> None:
    response = api.get("/imports/template.xlsx", as_="auditor")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "ledger-orders-template.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "Customer reference / 客户订单号" in header and "Unit price / 单价" in header
    assert len(rows) == 2 and rows[0][0] == rows[1][0]
    assert api.get("/imports/template.xlsx", as_=None).status_code == 401
    report = upload(api, response.content, commit=True).json()
    assert report["summary"]["recorded"] == 1 and report["orders"][0]["lines"] == 2


@pytest.mark.slow
def test_a_file_of_10000_rows_and_2000_orders_is_checked_and_recorded_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{quote(str(tmp_path / 'big.db'))}"
    app = create_app(Settings(database_url=url, tokens=TOKENS, run_projections=False))
    data = xlsx_bytes(order_rows(2000, lines=5))
    with TestClient(app, raise_server_exceptions=True) as client:
        api = Api(client)
        started = time.perf_counter()
        dry = upload(api, data)
        assert dry.status_code == 200 and dry.json()["summary"]["orders"] == 2000
        done = upload(api, data, commit=True)
        assert done.status_code == 201, done.text[:500]
        summary: dict[str, Any] = done.json()["summary"]
        assert summary["recorded"] == 2000 and summary["lines"] == 10000
        numbers = {o["number"] for o in done.json()["orders"]}
        assert len(numbers) == 2000
        again = upload(api, data, commit=True).json()["summary"]
        assert again["recorded"] == 0 and again["already_recorded"] == 2000
        assert time.perf_counter() - started < 240  # bounded, not a benchmark


def test_the_summary_counts_every_order_of_the_file_and_the_valid_ones(api: Api) -> None:
    rows = order_rows(3)
    rows[0]["sku"] = None
    summary = upload(api, xlsx_bytes(rows)).json()["summary"]
    assert (summary["orders"], summary["valid_orders"], summary["problems"]) == (3, 2, 1)


def test_an_import_sends_its_orders_from_as_many_threads_as_the_store_is_worth(
    any_backend_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL's group commit shares a transaction among concurrent saves;
    # SQLite has one writer, where sixteen threads only queued for its lock
    # (and under load one could wait past the pool's timeout: a 503).
    ledger = ledger_of(any_backend_api)
    receive, lock = ledger.receive, threading.Lock()
    inside, peak = 0, 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            time.sleep(0.02)  # long enough for every thread of the pool to arrive
            return receive(*args, **kwargs)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(ledger, "receive", counted)
    response = upload(any_backend_api, xlsx_bytes(order_rows(40)), commit=True)
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["recorded"] == 40
    expected = 16 if "postgres" in type(ledger.recorder).__name__.lower() else 2
    assert peak == expected == cast(LedgerRecorder, ledger.recorder).concurrent_saves
