"""The read-model endpoints through the ASGI app: board, backlog, search,
alerts, projection admin and metrics; read-your-writes with ?after=; the
board as of a moment; paging and 422 for bad filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_client import ALL_CHECKS, TOKENS, Api
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def timed_api(database_url: str, clock: SimulatedClock) -> Iterator[Api]:
    """The API on each backend, its ledger and board on a simulated clock."""
    ledger = Ledger(Settings(database_url=database_url, tokens=TOKENS, pool_size=3), clock)
    with TestClient(create_app(ledger=ledger), raise_server_exceptions=True) as client:
        yield Api(client)
    ledger.close()


def column(board: dict[str, Any], stage: str) -> dict[str, Any]:
    return next(c for c in board["columns"] if c["stage"] == stage)


def test_a_command_is_on_the_board_when_read_after_its_position(timed_api: Api) -> None:
    order = timed_api.receive()
    board = timed_api.get("/board", params={"after": order["position"]}).json()
    assert [c["number"] for c in column(board, "received")["cards"]] == [order["number"]]
    verified = timed_api.ok(f"/orders/{order['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    board = timed_api.get("/board", params={"after": verified["position"]}).json()
    assert column(board, "received")["count"] == 0
    card = column(board, "verified")["cards"][0]
    assert card["next_action"] == "confirm with customer" and card["alerts"] == []
    found = timed_api.get("/orders", params={"stage": "verified", "after": verified["position"]})
    assert [i["number"] for i in found.json()["items"]] == [order["number"]]
    backlog = timed_api.get("/backlog", params={"after": verified["position"]})
    assert backlog.status_code == 200 and backlog.json()["total"] == 0


def test_the_board_as_of_a_moment_is_the_board_shown_then(
    timed_api: Api, clock: SimulatedClock
) -> None:
    first = timed_api.receive()
    second = timed_api.receive(customer={"name": "María"})
    shown = timed_api.get("/board", params={"after": second["position"]}).json()
    moment = clock.now()
    clock.advance(timedelta(days=3))
    timed_api.ok(f"/orders/{first['id']}/verify", {"checks": ALL_CHECKS}, as_="sales")
    timed_api.receive()
    past = timed_api.get("/board", params={"as_of": moment.isoformat()}).json()
    for live, then in zip(shown["columns"], past["columns"], strict=True):
        assert (live["stage"], live["count"]) == (then["stage"], then["count"])
        strip = [{k: v for k, v in card.items() if k != "alerts"} for card in live["cards"]]
        assert strip == then["cards"]
    assert past["as_of"] == moment.isoformat()


def test_search_filters_pages_and_refuses_bad_filters(api: Api) -> None:
    last = {}
    for name in ("華聯", "華聯", "María", "華聯"):
        last = api.receive(customer={"name": name})
    after = {"after": last["position"]}
    page = api.get("/orders", params={"customer": "華聯", "limit": 2, **after}).json()
    assert (page["total"], page["count"], page["limit"]) == (3, 2, 2)
    rest = api.get("/orders", params={"customer": "華聯", "limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1
    today = datetime.now(UTC).date()
    dated = {"created_from": str(today - timedelta(days=1)), "created_to": str(today)}
    assert api.get("/orders", params=dated).json()["total"] == 4
    for bad in ({"created_from": str(today), "created_to": str(today - timedelta(days=1))},
                {"stage": "lost"}, {"limit": 501}, {"offset": -1}, {"after": -1}):  # fmt: skip
        response = api.get("/orders", params=bad)
        assert response.status_code == 422, bad
        assert set(response.json()) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/board", {"flag": "sleepy"}),
        ("/board", {"stage": "cancelled"}),
        ("/board", {"limit": 0}),
        ("/backlog", {"limit": 1000}),
        ("/backlog", {"as_of": "yesterday"}),
        ("/alerts", {"kind": "mystery"}),
        ("/alerts", {"offset": -5}),
        ("/board", {"after": 10**6}),
    ],
)
def test_read_models_refuse_bad_filters_with_422(
    api: Api, path: str, params: dict[str, Any]
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["code"] in ("invalid_input", "position_not_in_log")


def test_a_view_that_does_not_catch_up_in_time_answers_503(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = api.receive()
    worker = api.client.app.state.worker  # type: ignore[attr-defined]

    def never(name: str, position: int | None, timeout: float) -> None:
        raise TimeoutError

    monkeypatch.setattr(worker, "wait", never)
    response = api.get("/board", params={"after": order["position"], "wait": 0.1})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "view_behind"


def test_alerts_are_listed_and_shown_on_the_board(timed_api: Api, clock: SimulatedClock) -> None:
    order = timed_api.receive()
    timed_api.get("/board", params={"after": order["position"]})
    timed_api.get("/backlog", params={"after": order["position"]})
    worker = timed_api.client.app.state.worker  # type: ignore[attr-defined]
    # Stale, and never reviewed: also due for a backlog review.
    assert worker.scan_alerts(now=clock.now() + timedelta(days=20)) == 2
    alerts = timed_api.get("/alerts", params={"kind": "stale"}).json()
    assert [a["number"] for a in alerts["items"]] == [order["number"]]
    board = timed_api.get("/board").json()
    assert board["alerts"] == {"total": 2, "by_kind": {"review_due": 1, "stale": 1}}
    card_alerts = column(board, "received")["cards"][0]["alerts"]
    assert {alert["kind"] for alert in card_alerts} == {"stale", "review_due"}


def test_admins_see_projection_status_and_rebuild_in_the_background(api: Api) -> None:
    order = api.receive()
    api.get("/board", params={"after": order["position"]})
    started = api.post("/admin/projections/board/rebuild", as_="admin")
    assert started.status_code == 202
    worker = api.client.app.state.worker  # type: ignore[attr-defined]
    for thread in worker._background:
        thread.join(timeout=10)
    status = api.get("/admin/projections", as_="admin").json()
    board = next(p for p in status["projections"] if p["name"] == "board")
    assert board["rows"] == 1 and board["lag_events"] == 0 and board["runner"] == "running"
    assert board["last_rebuild"]["position"] == status["head"]
    unknown = api.post("/admin/projections/nothing/rebuild", as_="admin")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_projection"


def test_metrics_count_commands_and_refusals_by_type_and_show_lag(api: Api) -> None:
    order = api.receive()
    api.post(f"/orders/{order['id']}/settle", as_="finance")  # refused: 409
    text = api.client.get("/metrics", headers=api.auth("auditor")).text
    assert 'ledger_commands_total{command="receive_order"} 1.0' in text
    refused = 'ledger_command_errors_total{code="order_not_confirmed",command="settle_order"} 1.0'
    assert refused in text
    assert 'ledger_projection_lag_events{model="board"}' in text
    assert api.client.get("/metrics").status_code == 401


REGISTER_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("/reports/sales", {"group_by": "customer"}, 200),
    ("/reports/sales", {"group_by": "weekday"}, 422),
    ("/reports/lead-times", {}, 200),
    ("/complaints", {"status": "open"}, 200),
    ("/complaints", {"status": "pending"}, 422),
    ("/customers/上海華聯貿易有限公司/statement", {"open_only": True}, 200),
    ("/shipments", {"exception_only": True}, 200),
    ("/shipments", {"status": "teleported"}, 422),
    ("/audit/archive", {"period": "2026"}, 200),
    ("/audit/archive", {"period": "last-year"}, 422),
]


def test_the_register_endpoints_answer_from_their_read_models(api: Api) -> None:
    order = api.receive()
    for path, params, status in REGISTER_CASES:
        response = api.get(path, params={**params, "after": order["position"]})
        assert response.status_code == status, (path, response.text)
        if status == 422:
            assert response.json()["code"] == "invalid_input"
