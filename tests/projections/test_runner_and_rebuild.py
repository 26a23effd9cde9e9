"""A runner keeps a view current (read-your-writes by position), a blue/green
rebuild never shows readers an empty model, and the board can be read as of
a past moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.aggregates.values import Customer, Delivery, Line
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.projections.board import BOARD, board_cards, board_columns
from ledger.projections.framework import Source
from ledger.projections.runner import Runner, open_view
from ledger.projections.search import SEARCH, search_orders
from ledger.projections.timetravel import board_as_of
from ledger.settings import Settings

CTX = Ctx(actor="sales")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHECKS = {"customer": True, "product": True, "delivery": True}


def receive(app: Ledger, customer: str = "王小明") -> Any:
    return app.receive(
        CTX,
        channel="phone",
        customer=Customer(customer),
        lines=[Line("A", "产品 A", 3, Decimal("2.50"))],
        delivery=Delivery("上海", "李四"),
    )


def test_a_query_after_a_command_sees_it_once_the_runner_reached_its_position(
    ledger_settings: Settings,
) -> None:
    app = Ledger(ledger_settings, SimulatedClock(T0))
    runner = Runner(open_view(app, SEARCH), Source.of(app), poll=0.05).start()
    try:
        for _ in range(3):
            result = receive(app, "María")
            runner.wait_for(result.position, timeout=5)
            found = search_orders(runner.view, number=result.order.number)
            assert [i["stage"] for i in found["items"]] == ["received"]
        result = app.verify(CTX, result.order.id, checks=CHECKS)
        runner.wait_for(result.position, timeout=5)
        assert search_orders(runner.view, customer="María", stage="verified")["total"] == 1
        assert search_orders(runner.view, customer="María")["total"] == 3
    finally:
        runner.stop()
        app.close()


def test_readers_never_see_an_empty_board_during_a_rebuild(ledger_settings: Settings) -> None:
    app = Ledger(ledger_settings, SimulatedClock(T0))
    for _ in range(60):
        receive(app)
    runner = Runner(open_view(app, BOARD), Source.of(app), poll=0.05)
    runner.run_once()
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(runner.view.count())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            runner.rebuild()
    finally:
        done.set()
        reader.join()
        app.close()
    assert seen and min(seen) == 60 == max(seen)


def test_the_board_as_of_a_moment_is_the_board_that_was_shown_then() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    view = open_view(app, BOARD)
    runner = Runner(view, Source.of(app))
    first = receive(app)
    receive(app, "María")
    runner.run_once()
    moment = clock.now()
    shown = board_columns(view, today=moment.date())
    clock.advance(timedelta(days=2))
    app.verify(CTX, first.order.id, checks=CHECKS)
    receive(app, "株式会社テスト")
    runner.run_once()
    assert board_cards(view, today=clock.now().date(), stage="verified")["total"] == 1
    past = board_as_of(app, moment)
    assert past["columns"] == shown["columns"]
    assert board_as_of(app, T0 - timedelta(days=1))["columns"][0]["count"] == 0
