"""Date arithmetic in the read models at the calendar's ends: a moment or a
date recorded before business dates had a range (9999-12-31) never makes a
read fail, and folding up to the last moment there is folds everything."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from projection_driver import Driver

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.backlog import BACKLOG, backlog_item, backlog_report
from ledger.projections.board import BOARD
from ledger.projections.facts import LineFacts, OrderFacts
from ledger.projections.framework import ReadModel, Source, fold_events, records_of
from ledger.projections.statements import Invoice, StatementRow, due_date, statement_line
from ledger.projections.timetravel import fold_until, view_as_of
from ledger.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LAST_MOMENT = datetime.max.replace(tzinfo=UTC)


@pytest.fixture
def driven() -> Ledger:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    driver = Driver(app, clock, 7)
    for _ in range(60):
        driver.step(driver.rnd.randrange(100), driver.rnd.randrange(100))
    return app


@pytest.mark.parametrize("model", [BOARD, BACKLOG], ids=["board", "backlog"])
def test_time_travel_to_the_last_moment_there_is_folds_every_event(
    driven: Ledger, model: ReadModel[Any]
) -> None:
    source = Source.of(driven)
    notes = driven.recorder.select_notifications(1, 10**6, topics=model.topics)
    everything = [driven.mapper.to_domain_event(note) for note in notes]
    expected = records_of(model, fold_events(model, everything))
    assert records_of(model, fold_until(source, model, LAST_MOMENT)) == expected
    view = view_as_of(source, BACKLOG, LAST_MOMENT)
    report = backlog_report(view, now=LAST_MOMENT, stale_days=14)
    assert report["as_of"].startswith("9999-12-31")


def _row(issued_on: str, due_days: int) -> StatementRow:
    return StatementRow(
        "o", "SO-1", "王小明", "CNY", 3, "10.00", "confirmed", due_days,
        (Invoice("INV-1", "10.00", issued_on),),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("issued_on", "due_days", "due"),
    [
        ("9999-12-31", 30, "9999-12-31"),  # held at the calendar's last day
        ("9999-12-15", 365, "9999-12-31"),
        ("2099-12-31", 365, "2100-12-31"),
        ("2026-03-01", 30, "2026-03-31"),
    ],
)
def test_a_due_date_past_the_calendars_end_is_held_at_its_last_day(
    issued_on: str, due_days: int, due: str
) -> None:
    row = _row(issued_on, due_days)
    assert due_date(row) == date.fromisoformat(due)
    line = statement_line(row, date(2026, 4, 1))
    assert line["due_date"] == due and line["overdue"] is (due < "2026-04-01")


def test_an_order_promised_on_the_calendars_last_day_ages_like_any_other() -> None:
    facts = OrderFacts(
        "o", "SO-1", "王小明", "phone", "JPY", T0.isoformat(), T0.isoformat(), 3,
        status="confirmed", original_promise="0001-01-01", latest_promise="9999-12-31",
        lines={"A": LineFacts("杯", 3, "0.5")},
    )  # fmt: skip
    item = backlog_item(facts, T0, stale_days=14)
    assert item is not None
    assert item["days_late_latest"] is None and item["ageing_original"] == ">90"
    assert item["open_value"] == "2"  # 1.5 yen, rounded once to whole yen
    late = backlog_item(facts, LAST_MOMENT - timedelta(days=1), stale_days=14)
    assert late is not None and late["days_since_last_event"] > 2_900_000
