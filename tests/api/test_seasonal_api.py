"""GET /reports/seasonal and /reports/planning through the ASGI app, on
SQLite and PostgreSQL: thirty months of orders with a known year, the
daily job's stored forecasts, one series forecast on demand, amounts per
currency, and bad input answered 4xx in the one error shape."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from api_client import TOKENS
from fastapi.testclient import TestClient
from psycopg import sql

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, SkuQty
from ledger.api.app import create_app
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.projections.side_tables import replace_all
from ledger.settings import Settings

CTX = Ctx(actor="sales")
FIRST = date(2024, 6, 1)
NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
# LGT-A orders per calendar month (January first), one more each year: a slack
# summer and the autumn peak in October.
PATTERN = (3, 1, 3, 3, 3, 2, 2, 3, 6, 7, 5, 4)
AUTH = {"Authorization": "Bearer t-auditor"}


def months() -> Iterator[date]:
    day = FIRST
    while day < NOW.date().replace(day=1):
        yield day
        day = (day + timedelta(days=32)).replace(day=1)


def receive(app: Ledger, customer: str, lines: list[Line], currency: str, mode: str) -> Any:
    delivery = Delivery("上海市浦东新区", "李四", transport_mode=mode)
    return app.receive(CTX, channel="phone", customer=Customer(customer), lines=lines,
                       delivery=delivery, currency=currency).order.id  # fmt: skip


def fill(app: Ledger, clock: SimulatedClock) -> dict[str, int]:
    """Thirty months: LGT-A on the pattern (by sea), LGT-C and MOT-B every four
    months (by road); the customer 顺达 pays in CNY and in USD. None of the
    orders has shipped. Returns the orders received per customer."""
    received = {"顺达贸易": 0, "恒泰机电": 1}
    lamp = [Line("LGT-A", "面板灯", 10, Decimal("8.5"))]
    tube_and_motor = [
        Line("LGT-C", "灯管", 5, Decimal("1.335")),
        Line("MOT-B", "电机", 2, Decimal(300)),
    ]
    for day in months():
        clock.set(datetime(day.year, day.month, 3, 2, 0, tzinfo=UTC))
        for i in range(PATTERN[day.month - 1] + day.year - 2024):
            clock.advance(timedelta(hours=7))
            receive(app, "顺达贸易", lamp, "USD" if i % 3 == 2 else "CNY", "sea")
            received["顺达贸易"] += 1
        if day.month % 4 == 0:
            receive(app, "恒泰机电", tube_and_motor, "CNY", "road")
            received["恒泰机电"] += 1
    clock.set(NOW - timedelta(days=2))
    open_order = receive(app, "恒泰机电", [Line("MOT-B", "电机", 40, Decimal(300))], "CNY", "road")
    app.verify(CTX, open_order, checks={"customer": True, "product": True, "delivery": True})
    app.confirm(CTX, open_order, promised_date=date(2027, 1, 20), payment_terms=PaymentTerms())
    app.allocate_stock(CTX, open_order, sku="MOT-B", quantity=15, warehouse="深圳一号仓")
    # Two shipments by air, scheduled and not dispatched: one overdue, one for February.
    cameras = receive(app, "速运电子", [Line("CEL-X", "摄像机", 8, Decimal(268))], "CNY", "air")
    app.verify(CTX, cameras, checks={"customer": True, "product": True, "delivery": True})
    app.confirm(CTX, cameras, promised_date=date(2027, 2, 20), payment_terms=PaymentTerms())
    for sid, day, quantity in (("S-1", date(2026, 11, 25), 3), ("S-2", date(2027, 2, 10), 5)):
        app.schedule_shipment(CTX, cameras, shipment_id=sid, planned_date=day, carrier="国航货运",
                              lines=[SkuQty("CEL-X", quantity)], mode="air")  # fmt: skip
    clock.set(NOW)
    return received


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app on a store filled by ``fill`` (shared by the module's tests, which
    only read it); ``app.state.received`` holds its counts."""
    schema = f"seasonal_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{quote(str(tmp_path_factory.mktemp('seasonal') / 'seasonal.db'))}"
    else:
        url = f"{request.getfixturevalue('postgres_dsn')}?schema={schema}"
    # The job runs when the test says so (and at start only when the cron is set).
    settings = Settings(database_url=url, tokens=TOKENS, pool_size=2, forecast_cron=None)
    clock = SimulatedClock(NOW)
    ledger = Ledger(settings, clock)
    received = fill(ledger, clock)
    app = create_app(settings, ledger)
    app.state.received = received
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client
    ledger.close()
    if request.param == "postgres":
        with psycopg.connect(request.getfixturevalue("postgres_dsn"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {0} CASCADE").format(sql.Identifier(schema)))


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params={**params, "after": head(client)}, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def head(client: TestClient) -> int:
    return int(client.app.state.worker.source.head())  # type: ignore[attr-defined]


def item(report: dict[str, Any], series: str) -> dict[str, Any]:
    return next(i for i in report["items"] if i["series"] == series)


def test_history_shows_each_month_beside_the_same_month_last_year(client: TestClient) -> None:
    report = get(client, "/reports/seasonal", by="product", history=24)
    assert report["current_month"] == "2026-12" and report["total"] == 4
    lgt = item(report, "LGT-A")
    by_month = {h["month"]: h for h in lgt["history"]}
    assert len(lgt["history"]) == 24 and lgt["first_month"] == "2024-06"
    october = by_month["2026-10"]
    assert (october["orders"], october["quantity"]) == (7 + 2, 90)
    assert october["amount"] == {"CNY": "510.00", "USD": "255.00"}  # never added together
    assert october["last_year"]["month"] == "2025-10" and october["last_year"]["orders"] == 8
    assert by_month["2026-12"]["partial"] and by_month["2026-12"]["orders"] == 0
    august = next(h for h in item(report, "LGT-C")["history"] if h["month"] == "2026-08")
    assert august["amount"] == {"CNY": "6.68"}  # 5 x 1.335 = 6.675, rounded half-up


def test_before_the_first_job_the_forecasts_are_pending(client: TestClient) -> None:
    replace_all(client.app.state.worker.forecasts, {})  # type: ignore[attr-defined]
    report = get(client, "/reports/seasonal", by="product")
    shown = {(i["forecast_source"], len(i["forecasts"])) for i in report["items"]}
    assert shown == {("pending", 0)}
    assert report["computed_at"] is None


def test_the_daily_job_stores_forecasts_that_find_the_october_peak(client: TestClient) -> None:
    summary = client.app.state.worker.forecast()  # type: ignore[attr-defined]
    assert summary["series"] == 4 + 3 + 3 + 3  # products, families, customers, modes
    report = get(client, "/reports/seasonal", by="product", months=12)
    lgt = item(report, "LGT-A")
    assert lgt["forecast_source"] == "daily_job" and report["computed_at"].startswith("2026-12-10")
    (made,) = lgt["forecasts"]
    assert made["measure"] == "quantity" and made["method"].startswith("holt_winters_")
    points = made["months"]
    assert [p["month"] for p in points][:2] == ["2026-12", "2027-01"] and len(points) == 12
    assert max(points, key=lambda p: p["value"])["month"] == "2027-10"
    assert {p["month"][5:] for p in points if p["peak"]} <= {"09", "10", "11", "12"}
    assert all(p["lower"] <= p["value"] <= p["upper"] for p in points)
    assert made["backtest"]["months"] == 6 and made["backtest"]["smape"] < 25


def test_one_series_is_forecast_on_demand(client: TestClient) -> None:
    report = get(client, "/reports/seasonal", by="family", series="LGT", months=6, history=3)
    (lgt,) = report["items"]
    assert lgt["forecast_source"] == "on_demand"
    (made,) = lgt["forecasts"]
    assert made["measure"] == "orders" and len(made["months"]) == 6
    assert [h["month"] for h in lgt["history"]] == ["2026-10", "2026-11", "2026-12"]
    assert [h["orders"] for h in lgt["history"]] == [9, 7, 0]  # LGT-C: April, August, December


def test_amount_forecasts_come_per_currency_as_decimal_text(client: TestClient) -> None:
    report = get(client, "/reports/seasonal", by="customer", series="顺达贸易", months=3)
    (shunda,) = report["items"]
    assert report["measure"] == "amount" and shunda["currencies"] == ["CNY", "USD"]
    forecasts = {f["currency"]: f for f in shunda["forecasts"]}
    assert set(forecasts) == {"CNY", "USD"}
    for point in forecasts["USD"]["months"]:
        assert Decimal(point["value"]) == Decimal(point["value"]).quantize(Decimal("0.01"))
    only_usd = get(client, "/reports/seasonal", by="customer", series="顺达贸易", currency="USD")
    assert [f["currency"] for f in only_usd["items"][0]["forecasts"]] == ["USD"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"by": "warehouse"}, 422, "invalid_input"),
        ({"months": 0}, 422, "invalid_input"),
        ({"months": 25}, 422, "invalid_input"),
        ({"history": 121}, 422, "invalid_input"),
        ({"measure": "profit"}, 422, "invalid_input"),
        ({"currency": "usd"}, 422, "invalid_input"),
        ({"series": "x" * 201}, 422, "invalid_input"),
        ({"series": "NO-SUCH-SKU"}, 404, "series_not_found"),
        ({"by": "customer", "series": "无此客户"}, 404, "series_not_found"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, params: dict[str, Any], status: int, code: str
) -> None:
    response = client.get("/reports/seasonal", params=params, headers=AUTH)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and set(body) == {"code", "message", "details"}
    assert client.get("/reports/seasonal").status_code == 401


def test_planning_sets_expected_quantity_against_open_orders_and_stock(client: TestClient) -> None:
    client.app.state.worker.forecast()  # type: ignore[attr-defined]
    plan = get(client, "/reports/planning", months=3)
    assert plan["months"] == ["2026-12", "2027-01", "2027-02"] and plan["lead_months"] >= 0
    skus = {s["sku"]: s for s in plan["skus"]["items"]}
    received = client.app.state.received  # type: ignore[attr-defined]
    motor = skus["MOT-B"]
    motors = 40 + 2 * (received["恒泰机电"] - 1)  # the open order, and two in each other
    assert (motor["open"], motor["allocated"], motor["unallocated"]) == (motors, 15, motors - 15)
    assert motor["to_cover"] == pytest.approx(motors - 15 + motor["expected_total"], abs=0.02)
    lamp = skus["LGT-A"]
    assert lamp["open"] == 10 * received["顺达贸易"]  # nothing has shipped
    assert [p["month"] for p in lamp["expected"]] == plan["months"] and lamp["forecast"]
    assert [s["sku"] for s in plan["skus"]["items"]] == sorted(
        skus, key=lambda sku: (-skus[sku]["to_cover"], sku)
    )
    modes = {m["mode"]: {p["month"]: p for p in m["months"]} for m in plan["transport"]}
    assert set(modes) == {"road", "sea", "air"}
    # Scheduled and not dispatched: in the planned month, an overdue one now.
    assert [modes["air"][m]["planned"] for m in plan["months"]] == [1, 0, 1]
    assert modes["air"]["2027-02"]["awaiting"] == 0  # it has its shipments
    # Nothing shipped yet, so the lead time is a month: orders without a
    # promise are awaited next month, and so is the motor order promised then.
    assert plan["lead_months"] == 1
    assert modes["road"]["2027-01"]["awaiting"] == received["恒泰机电"]
    assert modes["sea"]["2027-01"]["awaiting"] == received["顺达贸易"]
    assert modes["sea"]["2026-12"]["awaiting"] == 0
    # December's new orders ship in January; January's in February.
    assert modes["sea"]["2027-02"]["expected"] > 0 and modes["sea"]["2026-12"]["expected"] == 0


def test_an_empty_store_has_no_series_no_plan_and_says_so_on_the_page() -> None:
    settings = Settings(database_url="memory://", tokens=TOKENS, forecast_cron=None)
    with TestClient(create_app(settings), raise_server_exceptions=True) as empty:
        report = empty.get("/reports/seasonal", headers=AUTH).json()
        assert (report["items"], report["total"], report["computed_at"]) == ([], 0, None)
        plan = empty.get("/reports/planning", headers=AUTH).json()
        assert (plan["skus"]["items"], plan["transport"]) == ([], [])
        empty.cookies.set("ledger_token", "t-auditor", path="/ui")
        page = empty.get("/ui/planning", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and "暂无订单，无法预测。" in page.text
