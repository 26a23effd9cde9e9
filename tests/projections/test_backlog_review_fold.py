"""The backlog review in the read models, under random command sequences rich
in reviews and decisions (discount, resell, donate, cancel): every read model
built from the order's facts, the statements and the reports equal a fold of
their events however they are fed, and agree with the aggregates (totals
after discounts, open quantities after resales and donations, stages)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from projection_driver import Driver

from ledger.aggregates.backlog import dispositions_of, reviews_of
from ledger.aggregates.order import Order
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.framework import ReadModel, Source, catch_up, fold_events, records_of
from ledger.projections.reports import REPORTS
from ledger.projections.runner import open_view, rebuild
from ledger.projections.search import SEARCH
from ledger.projections.statements import STATEMENTS
from ledger.settings import Settings

MODELS: tuple[ReadModel[Any], ...] = (BOARD, BACKLOG, SEARCH, REPORTS, STATEMENTS)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SEEN: set[str] = set()
QUIET = ("BacklogReviewed", "TrackingLinkIssued", "TrackingLinkRevoked")


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def folded(app: Ledger, model: ReadModel[Any]) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    return records_of(model, fold_events(model, (app.mapper.to_domain_event(n) for n in notes)))


@settings(max_examples=15)
@given(
    script=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), min_size=20, max_size=40),
    seed=st.integers(0, 2**16),
)
def test_views_with_backlog_decisions_equal_a_fold_and_the_orders(
    script: list[tuple[int, int]], seed: int
) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    try:
        driver = Driver(app, clock, seed)
        driver.backlog_share = 0.35
        views = {m.name: open_view(app, m) for m in MODELS}
        source = Source.of(app)
        for i, (pick, choice) in enumerate(script):
            driver.step(pick, choice)
            if i % 9 == 4:
                for view in views.values():
                    catch_up(view, source, page=3)
        for model in MODELS:
            live = views[model.name]
            catch_up(live, source, page=4)
            expected = folded(app, model)
            assert stored(live) == expected, f"{model.name}: incremental != fold"
            rebuild(live, source, page=7)
            assert stored(live) == expected, f"{model.name}: rebuilt != fold"
        check_against_orders(app, driver, views)
        for n in app.recorder.select_notifications(1, 10**6):
            event: Any = app.mapper.to_domain_event(n)
            action = ":" + event.action if isinstance(event, Order.BacklogDisposed) else ""
            SEEN.add(type(event).__name__ + action)
    finally:
        app.close()


def check_against_orders(app: Ledger, driver: Driver, views: dict[str, Any]) -> None:
    search = {row.order_id: row for row in views["search"].select()}
    backlog = {row.order_id: row for row in views["backlog"].select()}
    reports = {row.order_id: row for row in views["reports"].select()}
    statements = {row.order_id: row for row in views["statements"].select()}
    for order_id in driver.orders:
        order, key = app.get_order(order_id), str(order_id)
        assert search[key].stage == order.stage
        assert search[key].total == order.total
        assert Decimal_of(statements[key].total) == order.total
        assert statements[key].status == order.status
        facts = reports[key].facts
        assert facts.open_quantity == sum(line.open for line in order.lines.values())
        assert [d[0] for d in facts.dispositions] == [d.action for d in dispositions_of(order)]
        reviews = reviews_of(order)
        assert facts.backlog_cause == (reviews[-1].cause if reviews else "")
        if key in backlog:  # it folds every event: its quiet time is the order's
            assert backlog[key].backlog_cause == facts.backlog_cause
            # A review or a tracking link is not activity: the quiet time ignores them.
            active: list[Any] = [
                e for e in app.events.get(order_id) if type(e).__name__ not in QUIET
            ]
            assert backlog[key].last_event_at == active[-1].timestamp.isoformat()


def Decimal_of(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def test_the_sequences_above_took_every_decision() -> None:
    """Run after the property: its sequences reviewed, discounted, resold,
    donated and cancelled (else it would prove little)."""
    if not SEEN:
        test_views_with_backlog_decisions_equal_a_fold_and_the_orders()
    decisions = {f"BacklogDisposed:{a}" for a in ("discount", "resell", "donate", "cancel")}
    assert {"BacklogReviewed", *decisions} <= SEEN
