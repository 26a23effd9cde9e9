"""`ledger demo`: deterministic years of orders in every stage."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from eventsourcing.application import project_aggregate
from psycopg import sql

from ledger.aggregates.order import Order
from ledger.application import Ledger, order_id_for
from ledger.clock import SimulatedClock
from ledger.demo.runner import DemoReport, run_demo
from ledger.settings import Settings

UNTIL = date(2026, 6, 30)  # a fixed end, so runs on different days agree

LedgerFactory = Callable[[], tuple[Ledger, SimulatedClock]]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerFactory]:
    """A fresh, empty store per call (memory, a new SQLite file or PostgreSQL schema)."""
    made: list[Ledger] = []
    schemas: list[str] = []

    def make() -> tuple[Ledger, SimulatedClock]:
        if request.param == "memory":
            url = "memory://"
        elif request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'demo{len(made)}.db'}"
        else:
            schemas.append(f"demo_{uuid.uuid4().hex[:12]}")
            url = f"{request.getfixturevalue('postgres_dsn')}?schema={schemas[-1]}"
        clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
        ledger = Ledger(Settings(database_url=url, pool_size=2), clock)
        made.append(ledger)
        return ledger, clock

    yield make
    for ledger in made:
        ledger.close()
    if schemas:
        dsn: str = request.getfixturevalue("postgres_dsn")
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {0} CASCADE").format(sql.Identifier(schema)))


def demo(ledger: Ledger, clock: SimulatedClock, **options: object) -> DemoReport:
    kwargs: dict[str, object] = {"orders": 60, "seed": 7, "until": UNTIL, "progress": None}
    kwargs.update(options)
    return run_demo(ledger, clock, out=io.StringIO(), **kwargs)  # type: ignore[arg-type]


def test_sixty_orders_cover_the_board_including_side_states(make_ledger: LedgerFactory) -> None:
    ledger, clock = make_ledger()
    report = demo(ledger, clock)
    assert report.orders == 60
    assert len(report.stages) >= 10
    assert {"split", "merged", "cancelled", "on_hold", "archived"} <= set(report.stages)
    stored = {ledger.find_by_number(number).stage for number, _, _ in report.rows}
    assert stored == set(report.stages)


def test_the_same_seed_gives_the_same_orders_in_two_fresh_stores(
    make_ledger: LedgerFactory,
) -> None:
    first = demo(*make_ledger())
    second_ledger, second_clock = make_ledger()
    second = demo(second_ledger, second_clock)
    assert first.rows == second.rows
    stored = [
        (number, order.stage, order.version)
        for number, _, _ in second.rows
        for order in [second_ledger.find_by_number(number)]
    ]
    assert stored == first.rows


def stored_data(ledger: Ledger) -> list[tuple[str, int, str, str, dict[str, Any]]]:
    """Every stored event in notification order, with what makes it deterministic."""
    notifications = ledger.recorder.select_notifications(start=1, limit=100_000)
    events: list[Any] = [ledger.mapper.to_domain_event(n) for n in notifications]
    return [
        (str(e.originator_id), e.originator_version, type(e).__name__, str(e.timestamp), e.meta)
        for e in events
    ]


@pytest.mark.postgres
def test_sqlite_and_postgres_get_the_same_events(tmp_path: Path, postgres_url: str) -> None:
    stores = []
    for url in (f"sqlite:///{tmp_path / 'same.db'}", postgres_url):
        clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
        ledger = Ledger(Settings(database_url=url, pool_size=2), clock)
        try:
            report = demo(ledger, clock, orders=40)
            stores.append((report.rows, stored_data(ledger)))
        finally:
            ledger.close()
    (sqlite_rows, sqlite_events), (postgres_rows, postgres_events) = stores
    assert sqlite_rows == postgres_rows
    assert len(sqlite_events) > 500
    assert sqlite_events == postgres_events


def test_snapshots_are_taken_at_each_interval_and_equal_the_replayed_order(
    make_ledger: LedgerFactory,
) -> None:
    ledger, clock = make_ledger()
    report = demo(ledger, clock)
    interval = type(ledger).snapshotting_intervals[Order]
    long_orders = [(n, v) for n, _, v in report.rows if v >= interval]
    assert long_orders, "the demo has orders long enough to be snapshotted"
    assert ledger.snapshots is not None
    for number, version in long_orders:
        order_id = order_id_for(number)
        snapshots = list(ledger.snapshots.get(order_id))
        assert [s.originator_version for s in snapshots] == list(
            range(interval, version + 1, interval)
        )
        for snapshot in snapshots:
            from_snapshot = snapshot.mutate(None)  # type: ignore[attr-defined]
            replayed = project_aggregate(
                None, ledger.events.get(order_id, lte=snapshot.originator_version)
            )
            assert vars(from_snapshot) == vars(replayed)
        assert vars(ledger.get_order(order_id)) == vars(
            project_aggregate(None, ledger.events.get(order_id))
        )


def test_another_seed_gives_other_orders(make_ledger: LedgerFactory) -> None:
    assert demo(*make_ledger()).rows != demo(*make_ledger(), seed=8).rows


def test_if_empty_leaves_a_filled_store_alone(make_ledger: LedgerFactory) -> None:
    ledger, clock = make_ledger()
    demo(ledger, clock, orders=20)
    before = ledger.recorder.max_notification_id()
    report = demo(ledger, clock, if_empty=True)
    assert report.skipped
    assert ledger.recorder.max_notification_id() == before


def test_if_empty_fills_an_empty_store(make_ledger: LedgerFactory) -> None:
    ledger, clock = make_ledger()
    assert demo(ledger, clock, orders=10, if_empty=True).orders == 10


@pytest.mark.parametrize("years", [3, 1])
def test_events_span_the_years_asked_for_and_none_lies_in_the_future(
    make_ledger: LedgerFactory, years: int
) -> None:
    ledger, clock = make_ledger()
    report = demo(ledger, clock, years=years)
    times = [
        entry.recorded_at
        for number, _, _ in report.rows
        for entry in ledger.history(order_id_for(number))
    ]
    assert len(times) == report.events
    assert timedelta(days=365 * years - 65) < max(times) - min(times) < timedelta(days=365 * years)
    assert max(times) < datetime.combine(UNTIL, datetime.min.time(), UTC)


def test_every_event_names_its_actor_and_correlation(make_ledger: LedgerFactory) -> None:
    ledger, clock = make_ledger()
    report = demo(ledger, clock, orders=15)
    for number, _, _ in report.rows:
        for entry in ledger.history(order_id_for(number)):
            assert entry.meta["actor"].endswith(")")
            assert entry.meta["correlation_id"]


def test_the_store_records_events_in_the_order_they_happened(
    make_ledger: LedgerFactory,
) -> None:
    ledger, clock = make_ledger()
    demo(ledger, clock, orders=30)
    notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
    # The library's event protocol does not declare the timestamp its events carry.
    times = [cast(Any, ledger.mapper.to_domain_event(n)).timestamp for n in notifications]
    assert times == sorted(times)


def test_ledger_demo_runs_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    command = [sys.executable, "-m", "ledger.cli", "demo", "--orders", "12", "--seed", "3"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout and "12" in done.stdout
    assert "100%" in done.stderr
    again = subprocess.run([*command, "--if-empty"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
