"""A process's runners stepped together (``runner.RunnerGroup``,
``runner.step_together``): each page read and decoded once, every view
written in one transaction. Every view must end exactly where a fold of
the log puts it; a view moved on elsewhere, or failing, must not hold the
others back; and a worker runs one projection thread, not one per view."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from projection_driver import Driver, assert_feed_reads_as_decoded

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.framework import Source, catch_up, fold_events, records_of
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import Runner, RunnerGroup, open_view, step_together
from ledger.settings import Settings
from ledger.worker import Worker
from ledger.worker.process import MODELS

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def folded(app: Ledger, model: Any) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    decode = Source.of(app).decode  # as the projections decode: personal texts sealed
    return records_of(model, fold_events(model, (decode(n) for n in notes)))


def drive(app: Ledger, clock: SimulatedClock, steps: int, seed: int) -> None:
    driver = Driver(app, clock, seed)
    for i in range(steps):
        driver.step((i * 43 + seed) % 100, (i * 17 + seed) % 100)


def test_a_worker_keeps_every_view_equal_to_a_fold_with_one_thread(database_url: str) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=3), clock)
    worker = Worker(app).start(schedule=False)
    try:
        for seed in range(3):  # written while the group runs
            drive(app, clock, 40, seed)
            time.sleep(0.05)
        head = Source.of(app).head()
        for name in READ_MODELS:
            worker.wait(name, head, timeout=10)
            assert worker.runners[name].alive and worker.runners[name].error is None
            assert stored(worker.views[name]) == folded(app, READ_MODELS[name]), name
        group = worker._group  # one thread steps every runner of the worker
        assert group is not None and group._thread is not None and group._thread.is_alive()
        assert all(r.group is group and r._thread is None for r in worker.runners.values())
        assert sorted(worker.runners) == sorted(MODELS)  # the feed's model too
        worker.wait("feed", head, timeout=10)
        assert_feed_reads_as_decoded(app, worker.views["feed"])
    finally:
        worker.stop()
        app.close()


def pair(app: Ledger) -> tuple[Source, Runner[Any], Runner[Any]]:
    source = Source.of(app)
    group = RunnerGroup(source)  # never started: the test steps it
    board = Runner(open_view(app, BOARD), source, group=group)
    backlog = Runner(open_view(app, BACKLOG), source, group=group)
    return source, board, backlog


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_view_moved_on_elsewhere_does_not_hold_back_the_others(database_url: str) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=3), clock)
    try:
        source, board, backlog = pair(app)
        drive(app, clock, 50, 1)
        step_together([board, backlog], source, page=7)
        assert board.position == backlog.position == source.head()
        drive(app, clock, 50, 2)
        elsewhere = open_view(app, BOARD)  # the board's tables, written by "another process"
        catch_up(elsewhere, source)
        assert board._known and board.position < source.head()  # stale here
        step_together([board, backlog], source, page=500)
        assert backlog.position == source.head()
        assert stored(backlog.view) == folded(app, BACKLOG)
        assert not board._known  # it reads its position again next time
        step_together([board, backlog], source, page=500)
        assert board.position == source.head() and board.error is None
        assert stored(board.view) == folded(app, BOARD)
    finally:
        app.close()


def test_a_failing_view_does_not_hold_back_the_others(tmp_path: Path) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}"), clock)
    try:
        source, board, backlog = pair(app)
        drive(app, clock, 30, 4)
        step_together([board, backlog], source, page=9)
        drive(app, clock, 60, 5)
        view: Any = board.view
        real = (view.write, view.write_in)

        def failing(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk full")

        view.write = view.write_in = failing
        step_together([board, backlog], source, page=9)
        assert isinstance(board.error, RuntimeError) and board.position < source.head()
        assert backlog.position == source.head() and backlog.error is None
        assert stored(backlog.view) == folded(app, BACKLOG)
        view.write, view.write_in = real
        step_together([board, backlog], source, page=9)
        assert board.position == source.head() and board.error is None
        assert stored(board.view) == folded(app, BOARD)
    finally:
        app.close()


def test_a_runner_or_a_group_asleep_between_polls_stops_at_once(database_url: str) -> None:
    # Woken by its stop, not by the end of its poll: with a minute's poll the
    # thread would still be asleep when ``stop`` gives up joining it (5 s).
    # (Every test app's shutdown waited out the rest of a 0.1 s poll this way.)
    app = Ledger(Settings(database_url=database_url, pool_size=3))
    drive(app, SimulatedClock(T0), 5, 1)
    source = Source.of(app)
    group = RunnerGroup(source, poll=60)
    alone = Runner(open_view(app, BOARD), source, poll=60).start()
    grouped = Runner(open_view(app, BACKLOG), source, group=group).start()
    try:
        alone.wait_for(source.head(), timeout=10)
        grouped.wait_for(source.head(), timeout=10)
        time.sleep(0.2)  # both threads now sleep until new events or a minute passes
        threads = [alone._thread, group._thread]
        assert all(thread is not None and thread.is_alive() for thread in threads)
        alone.stop()
        group.stop()
        assert not any(thread is not None and thread.is_alive() for thread in threads)
    finally:
        alone.stop()
        group.stop()
        app.close()
