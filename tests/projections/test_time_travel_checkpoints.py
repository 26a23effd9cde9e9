"""Time travel from checkpoints (``projections.checkpoints``): a fold up to a
moment that starts from a kept state must give exactly the rows of a fold of
every event recorded by then from position zero, also when recording times
do not follow the log's order."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_driver import Driver

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections import checkpoints
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.checkpoints import Checkpoint, store_of
from ledger.projections.framework import ReadModel, Source, fold_events, records_of
from ledger.projections.runner import open_view, rebuild_many
from ledger.projections.timetravel import fold_until, view_as_of
from ledger.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODELS = (BOARD, BACKLOG)


def drive_with_skew(app: Ledger, clock: SimulatedClock, steps: int, seed: int) -> None:
    """Random commands; now and then the clock goes back a little, so later
    events of the log may be stamped earlier than ones before them."""
    driver = Driver(app, clock, seed)
    for i in range(steps):
        driver.step(driver.rnd.randrange(100), driver.rnd.randrange(100))
        if (i + seed) % 4 == 0:
            clock.set(clock.now() - timedelta(hours=3 + (i * seed) % 40))


def truth(app: Ledger, model: ReadModel[Any], as_of: datetime) -> dict[str, str]:
    """The model at ``as_of``: every event recorded by then, folded from zero
    (decoded by the application's own mapper)."""
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    events: list[Any] = [app.mapper.to_domain_event(n) for n in notes]
    taken = [e for e in events if e.timestamp <= as_of]
    return records_of(model, fold_events(model, taken))


def moments(app: Ledger, fractions: list[float]) -> list[datetime]:
    notes = app.recorder.select_notifications(1, 10**6)
    stamps = [cast(Any, app.mapper.to_domain_event(n)).timestamp for n in notes]
    first, last = min(stamps), max(stamps)
    return [first + (last - first) * f for f in fractions]


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    fractions=st.lists(st.floats(-0.05, 1.1), min_size=3, max_size=8),
    every=st.integers(1, 80),
)
def test_folds_from_checkpoints_equal_folds_from_zero(
    seed: int, fractions: list[float], every: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = SimulatedClock(T0)
        app = Ledger(Settings(database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}"), clock)
        try:
            drive_with_skew(app, clock, 70, seed)
            source, store = Source.of(app), store_of(app.recorder)
            assert store is not None
            for as_of in moments(app, fractions) * 2:  # the second round starts from kept ones
                for model in MODELS:
                    rows = fold_until(source, model, as_of, store, every=every)
                    assert records_of(model, rows) == truth(app, model, as_of)
        finally:
            app.close()


# Checkpoints live in a table of the SQL stores; the in-memory store has none.
@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_rebuild_keeps_checkpoints_and_time_travel_starts_from_the_nearest(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "FILL_EVERY", 20)
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    try:
        drive_with_skew(app, clock, 150, 5)
        source, store = Source.of(app), store_of(app.recorder)
        assert store is not None
        head = source.head()
        assert head > 60
        rebuild_many([(open_view(app, model), None) for model in MODELS], source)
        starts: list[int] = []
        select = app.recorder.select_notifications

        def counted(start: int, *args: Any, **kwargs: Any) -> Any:
            starts.append(start)
            return select(start, *args, **kwargs)

        app.recorder.select_notifications = counted  # type: ignore[method-assign, assignment]
        for as_of in moments(app, [0.1, 0.4, 0.7, 1.0]):
            for model in MODELS:
                nearest = store.nearest(model, as_of, head)
                starts.clear()
                shown = view_as_of(source, model, as_of)
                rows = {str(row.order_id): row for row in shown.select()}
                assert records_of(model, rows) == truth(app, model, as_of)
                if nearest is not None:
                    assert nearest.latest <= as_of and 20 <= nearest.position <= head
                    assert starts[0] == nearest.position  # not from position zero
        late = store.nearest(BOARD, clock.now() + timedelta(days=1), head)
        assert late is not None and late.position >= 60  # the fill kept them
        early = store.nearest(BOARD, T0 - timedelta(days=1), head)
        assert early is None  # nothing was recorded by then
    finally:
        app.close()


def test_checkpoints_of_other_fold_code_are_ignored_and_a_rebuild_drops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}"), clock)
    try:
        drive_with_skew(app, clock, 40, 9)
        source, store = Source.of(app), store_of(app.recorder)
        assert store is not None
        later = clock.now() + timedelta(days=400)
        expected = truth(app, BOARD, later)
        assert expected
        wrong = Checkpoint(source.head(), T0, {})  # claims an empty board at the head
        monkeypatch.setitem(checkpoints._fingerprints, BOARD.__module__, "other-code")
        store.save(BOARD, wrong)
        monkeypatch.undo()
        assert records_of(BOARD, fold_until(source, BOARD, later, store)) == expected
        store.save(BOARD, wrong)  # this code's: used (what a wrong one would do)
        assert fold_until(source, BOARD, later, store) == {}
        rebuild_many([(open_view(app, BOARD), None)], source)
        assert store.nearest(BOARD, later, source.head()) != wrong
        assert records_of(BOARD, fold_until(source, BOARD, later, store)) == expected
    finally:
        app.close()


def test_an_unreadable_checkpoint_is_skipped_and_the_fold_starts_from_zero(
    tmp_path: Path,
) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}"), clock)
    try:
        drive_with_skew(app, clock, 40, 11)
        source, store = Source.of(app), store_of(app.recorder)
        assert store is not None
        later = clock.now() + timedelta(days=400)
        expected = truth(app, BOARD, later)
        store.save(BOARD, Checkpoint(source.head(), T0, {}))
        with app.factory.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
            curs.execute(f"UPDATE {store.table} SET data = ?", (b"not zlib at all",))
        assert store.nearest(BOARD, later, source.head()) is None
        assert records_of(BOARD, fold_until(source, BOARD, later, store)) == expected
    finally:
        app.close()
