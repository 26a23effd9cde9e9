"""A rebuild split across processes by order (``bulk.fill`` with
``part``): each part folds only its own orders' events, part 0 records the
position and merges the parts' checkpoints. The union must be exactly the
whole fill: the same rows, the same position, the same checkpoints; and
PostgreSQL's COPY reader (``persistence.pg_stream``) must hand over exactly
what the library's paged reader does, and pick the same orders for a part
as ``in_part``."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from projection_driver import Driver, assert_feed_reads_as_decoded

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.integration.feed_model import FEED
from ledger.projections import checkpoints, runner
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.bulk import fill
from ledger.projections.checkpoints import store_of
from ledger.projections.framework import Part, Source, View, fold_events, in_part, records_of
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view, rebuild_many
from ledger.settings import Settings

T0 = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def driven(database_url: str, steps: int = 140, seed: int = 23) -> Ledger:
    """Four drivers' worth of random commands (a driver keeps to 6 orders)."""
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=3), clock)
    drivers = [Driver(app, clock, seed + n) for n in range(4)]
    for i in range(steps):
        drivers[i % 4].step((i * 41 + seed) % 100, (i * 29 + seed) % 100)
    return app


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def folded(app: Ledger, model: Any) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    decode = Source.of(app).decode  # as the projections decode: personal texts sealed
    return records_of(model, fold_events(model, (decode(n) for n in notes)))


@pytest.mark.parametrize("count", [2, 3])
def test_a_fill_in_parts_equals_the_whole_fill(database_url: str, count: int) -> None:
    app = driven(database_url)
    try:
        source = Source.of(app)
        head = source.head()
        views = [open_view(app, model, f"view_{name}_parts") for name, model in READ_MODELS.items()]
        feed = open_view(app, FEED, "view_feed_parts")  # appends: each part its events' rows
        views.append(feed)
        for index in range(1, count):  # the other parts write rows only
            fill(views, source, page=9, until=head, part=(index, count))
            assert all(view.max_tracking_id(source.name) is None for view in views)
        waited: list[bool] = []
        fill(views, source, page=9, until=head, part=(0, count), others=lambda: waited.append(True))
        assert waited == [True]
        orders = {str(n.originator_id) for n in app.recorder.select_notifications(1, 10**6)}
        in_each = [sum(in_part(o, (i, count)) for o in orders) for i in range(count)]
        assert sum(1 for n in in_each if n) >= 2, f"the orders fall in several parts: {in_each}"
        for view in views[:-1]:
            assert view.max_tracking_id(source.name) == head
            assert stored(view) == folded(app, view.model), view.model.name
        assert_feed_reads_as_decoded(app, feed)
    finally:
        app.close()


def kept_checkpoints(app: Ledger) -> dict[tuple[str, int], tuple[int, frozenset[bytes]]]:
    """Every checkpoint row: (model, position) -> (latest, its rows' lines)."""
    store = store_of(app.recorder)
    assert store is not None
    with store.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT model, fingerprint, position, latest, data FROM {store.table}")
        found = curs.fetchall()
    assert all("~" not in row["fingerprint"] for row in found), "a part was left behind"
    return {
        (row["model"], row["position"]): (
            row["latest"],
            frozenset(zlib.decompress(bytes(row["data"])).split(b"\n")),
        )
        for row in found
    }


def in_process(app: Ledger, source: Source, ran: list[Part]) -> Any:
    """``rebuild_many``'s ``elsewhere``: the other part filled here, at once."""

    def elsewhere(views: list[View[Any]], head: int, part: Part) -> Any:
        ran.append(part)
        fill(views, source, page=5, until=head, part=part)
        return lambda: None

    return elsewhere


# Checkpoints live in a table of the SQL stores; the in-memory store has none.
@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_split_rebuild_keeps_the_same_checkpoints_as_a_whole_one(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "FILL_EVERY", 25)
    monkeypatch.setattr(runner, "SPLIT_FROM", 1)
    app = driven(database_url, steps=160, seed=7)
    try:
        source = Source.of(app)
        targets = [(open_view(app, model), None) for model in (BOARD, BACKLOG)]
        rebuild_many(targets, source, page=6)
        whole = kept_checkpoints(app)
        assert len(whole) >= 2 * 3, "the data crosses several marks"
        assert {position for _, position in whole} == set(range(25, source.head() + 1, 25))
        ran: list[Part] = []
        rebuild_many(targets, source, page=6, elsewhere=in_process(app, source, ran))
        assert ran == [(1, 2)]
        assert kept_checkpoints(app) == whole
        for view, _ in targets:
            assert stored(view) == folded(app, view.model)
    finally:
        app.close()


def test_a_failed_part_leaves_the_live_view_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "SPLIT_FROM", 1)
    app = driven(f"sqlite:///{tmp_path / 'ledger.db'}", steps=60, seed=3)
    try:
        source = Source.of(app)
        live = open_view(app, BOARD)
        rebuild_many([(live, None)], source)
        before = stored(live)

        def failing(views: Sequence[View[Any]], head: int, part: Part) -> Callable[[], None]:
            def join() -> None:
                raise RuntimeError("the other part failed")

            return join

        with pytest.raises(RuntimeError, match="other part failed"):
            rebuild_many([(live, None)], source, elsewhere=failing)
        assert stored(live) == before == folded(app, BOARD)
        assert live.max_tracking_id(source.name) == source.head()
    finally:
        app.close()


@pytest.mark.postgres
def test_the_copy_reader_hands_over_what_the_paged_reader_does(postgres_url: str) -> None:
    app = driven(postgres_url, steps=90, seed=31)
    try:
        recorder: Any = app.recorder
        head = Source.of(app).head()
        topics = sorted(BOARD.topics)[:5]

        def paged(start: int, stop: int, chosen: list[str]) -> list[tuple[Any, ...]]:
            notes = recorder.select_notifications(start, 10**6, stop=stop, topics=chosen,
                                                  inclusive_of_start=False)  # fmt: skip
            return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notes]

        def copied(start: int, stop: int, chosen: list[str], part: Part | None = None) -> list[Any]:
            pages = list(recorder.notification_pages(start, stop, chosen, 7, part))
            assert all(1 <= len(page) <= 7 for page in pages)
            return [tuple(note) for page in pages for note in page]

        assert copied(0, head, []) == paged(0, head, [])
        assert copied(11, head - 5, topics) == paged(11, head - 5, topics)
        assert copied(head, head, []) == []
        whole = copied(0, head, [])
        for count in (2, 3):
            parts = [copied(0, head, [], (i, count)) for i in range(count)]
            for index, notes in enumerate(parts):
                assert all(in_part(note[1], (index, count)) for note in notes)
            assert sorted(note for notes in parts for note in notes) == sorted(whole)
    finally:
        app.close()


@pytest.mark.postgres
def test_a_worker_rebuild_of_one_model_on_postgres_splits_it_with_a_process(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.projections import runner
    from ledger.worker import Worker

    monkeypatch.setattr(runner, "SPLIT_FROM", 1)
    app = driven(postgres_url, steps=100, seed=13)
    try:
        worker = Worker(app)
        spawned: list[Part] = []
        start_other = worker._fill_in_process

        def spy(views: Any, head: int, part: Part) -> Any:
            spawned.append(part)
            return start_other(views, head, part)

        worker._fill_in_process = spy  # type: ignore[method-assign]
        entry = worker.rebuild("reports")
        assert spawned == [(1, 2)]
        assert entry["position"] == Source.of(app).head()
        assert stored(worker.views["reports"]) == folded(app, READ_MODELS["reports"])
    finally:
        app.close()
