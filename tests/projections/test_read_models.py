"""Properties of the board, backlog and search read models under random command
sequences: however a view is fed — incrementally in small pages, interrupted
at any position and resumed, rebuilt blue/green from zero — it equals an
in-memory fold of the same events, and it agrees with the aggregates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from projection_driver import Driver

from ledger.aggregates.readout import facets
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD, card
from ledger.projections.facts import OrderFacts
from ledger.projections.framework import ReadModel, Source, catch_up, fold_events, records_of
from ledger.projections.runner import open_view, rebuild
from ledger.projections.search import SEARCH
from ledger.settings import Settings

MODELS: tuple[ReadModel[OrderFacts], ...] = (BOARD, BACKLOG, SEARCH)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

steps = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), min_size=20, max_size=70)


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def folded(app: Ledger, model: ReadModel[OrderFacts]) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    return records_of(model, fold_events(model, (app.mapper.to_domain_event(n) for n in notes)))


def check_views_agree(app: Ledger, driven: dict[str, Any], cut: int) -> None:
    source = Source.of(app)
    for model in MODELS:
        expected = folded(app, model)
        live = driven[model.name]
        catch_up(live, source, page=3)
        assert stored(live) == expected, f"{model.name}: incremental != fold"
        resumed = open_view(app, model, f"view_{model.name}_resumed")
        catch_up(resumed, source, page=4, until=min(cut, source.head()))
        catch_up(resumed, source, page=4)
        assert stored(resumed) == expected, f"{model.name}: resumed != fold"
        rebuild(live, source, page=5)
        assert stored(live) == expected, f"{model.name}: rebuilt != fold"
        assert live.max_tracking_id(source.name) == source.head()


def check_agrees_with_aggregates(app: Ledger, driver: Driver, driven: dict[str, Any]) -> None:
    today = driver.clock.now().date()
    board = {row.order_id: row for row in driven["board"].select()}
    search = {row.order_id: row for row in driven["search"].select()}
    backlog = {row.order_id: row for row in driven["backlog"].select()}
    for order_id in driver.orders:
        order = app.get_order(order_id)
        key = str(order_id)
        assert search[key].stage == order.stage
        assert search[key].total == order.total
        closed = order.status in ("cancelled", "split", "merged", "archived")
        assert (key in board) != closed
        assert (key in backlog) == (not closed and order.status != "settled")
        if key in board:
            shown, truth = card(board[key], today), facets(order)
            assert shown["stage"] == order.stage
            for name in ("shipped_ratio", "invoiced_ratio", "paid_ratio"):
                assert shown[name] == truth[name], name
            assert shown["latest_promised_date"] == _iso(order.latest_promise)
            assert shown["original_promised_date"] == _iso(order.original_promise)
            assert shown["flags"]["on_hold"] == order.on_hold


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def run_property(url: str, script: list[tuple[int, int]], cut: int, seed: int) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=url, pool_size=2), clock)
    try:
        driver = Driver(app, clock, seed)
        driven = {m.name: open_view(app, m) for m in MODELS}
        source = Source.of(app)
        for i, (pick, choice) in enumerate(script):
            driver.step(pick, choice)
            if i % 7 == 3:
                for view in driven.values():
                    catch_up(view, source, page=3)
                check_agrees_with_aggregates(app, driver, driven)
        check_views_agree(app, driven, cut)
        check_agrees_with_aggregates(app, driver, driven)
    finally:
        app.close()


@given(script=steps, cut=st.integers(0, 400), seed=st.integers(0, 2**16))
def test_memory_views_equal_a_fold_of_their_events(
    script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    run_property("memory://", script, cut, seed)


@pytest.fixture(scope="module")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("views")


_runs = iter(range(10**9))


@given(script=steps, cut=st.integers(0, 400), seed=st.integers(0, 2**16))
def test_sqlite_views_equal_a_fold_of_their_events(
    sqlite_dir: Path, script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    path = sqlite_dir / f"run{next(_runs)}.db"
    run_property(f"sqlite:///{quote(str(path))}", script, cut, seed)
