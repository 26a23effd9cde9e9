"""The rebuild's bulk path: one pass over the log folds every read model in
memory and writes each view once (``bulk.fill``, ``runner.rebuild_many``).
It must give exactly what the incremental, paged path gives, on every backend,
and the projection decoder must decode events as the application's mapper
does, apart from the sealed personal data no read model shows."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_driver import Driver, assert_feed_reads_as_decoded

from ledger.aggregates.privacy import privacy_of
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.persistence.personal import SEALED_MARK, open_sealed
from ledger.projections.bulk import fill
from ledger.projections.framework import Source, catch_up, fold_events, records_of
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view, rebuild_many
from ledger.settings import Settings
from ledger.worker.process import MODELS

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def drive(app: Ledger, steps: int, seed: int, clock: SimulatedClock) -> None:
    driver = Driver(app, clock, seed)
    for i in range(steps):
        driver.step((i * 37 + seed) % 100, (i * 61 + seed) % 100)


def folded(app: Ledger, model: Any) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    decode = Source.of(app).decode
    return records_of(model, fold_events(model, (decode(n) for n in notes)))


def check_bulk_equals_incremental(app: Ledger) -> None:
    source = Source.of(app)
    incremental = {name: open_view(app, model) for name, model in READ_MODELS.items()}
    for view in incremental.values():
        catch_up(view, source, page=3)
    bulk = {name: open_view(app, model, f"view_{name}_bulk") for name, model in READ_MODELS.items()}
    positions = rebuild_many([(view, None) for view in bulk.values()], source, page=7)
    assert positions == [source.head()] * len(bulk)
    for name, model in READ_MODELS.items():
        expected = folded(app, model)
        assert expected, f"{name}: the script made no rows"
        assert stored(incremental[name]) == expected, f"{name}: incremental != fold"
        assert stored(bulk[name]) == expected, f"{name}: bulk rebuild != fold"
        assert bulk[name].max_tracking_id(source.name) == source.head()


def test_the_bulk_rebuild_of_every_model_equals_the_incremental_views(database_url: str) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=3), clock)
    try:
        drive(app, 150, 11, clock)
        check_bulk_equals_incremental(app)
    finally:
        app.close()


@settings(max_examples=8, deadline=None)
@given(steps=st.integers(20, 90), seed=st.integers(0, 2**16))
def test_memory_bulk_rebuilds_equal_the_incremental_views(steps: int, seed: int) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    try:
        drive(app, steps, seed, clock)
        check_bulk_equals_incremental(app)
    finally:
        app.close()


def test_the_decoder_gives_the_mappers_events_with_personal_data_sealed(database_url: str) -> None:
    """Customers' and deliveries' personal fields empty, every other personal
    text sealed (opening it gives the mapper's), everything else equal."""
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    try:
        drive(app, 80, 3, clock)
        source = Source.of(app)
        notes = app.recorder.select_notifications(1, 10**6)
        assert len(notes) > 50
        sealed = 0
        for note in notes:
            event = app.mapper.to_domain_event(note)
            full: Any = event
            cheap = source.decode(note)
            assert type(cheap) is type(full)
            values = {"customer", "delivery"}
            plain = {k: v for k, v in full.__dict__.items() if k not in values}
            kept = {k: v for k, v in cheap.__dict__.items() if k not in values}
            assert open_sealed(kept, app.personal_keys) == plain
            for name in privacy_of(type(event)).fields():
                if isinstance(plain.get(name), str) and plain[name]:
                    assert kept[name].startswith(SEALED_MARK)
                    sealed += 1
            if hasattr(full, "customer"):
                assert cheap.customer.name == full.customer.name
                assert (cheap.customer.phone, cheap.customer.address) == ("", "")
            if getattr(full, "delivery", None) is not None:
                assert cheap.delivery.transport_mode == full.delivery.transport_mode
                assert full.delivery.address and cheap.delivery.address == ""
        assert sealed > 5
    finally:
        app.close()


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 123456789012345678901234567890, "b": [{"_type_": "decimal_str", "_data_": "1.5"}]}',
        '{"a": NaN, "b": {"_type_": "date_iso", "_data_": "2026-02-02"}}',
        '{"a": [[{"_type_": "datetime_iso", "_data_": "2026-02-02T09:00:00+00:00"}]], "b": {}}',
        '{"_type_": "x", "b": 1}',
    ],
)
def test_the_decoders_json_equals_the_libraries_also_where_orjson_cannot_read_it(
    text: str,
) -> None:
    app = Ledger(Settings(database_url="memory://"), SimulatedClock(T0))
    try:
        decoded = Source.of(app).decode._decode_json(text.encode())
        expected = app.mapper.transcoder.decode(text.encode())
        if "NaN" in text:  # NaN is not equal to itself
            assert math.isnan(decoded.pop("a")) and math.isnan(expected.pop("a"))
        assert decoded == expected
        assert [type(v) for v in decoded.values()] == [type(v) for v in expected.values()]
    finally:
        app.close()


def test_fill_refuses_a_view_that_already_has_a_position(database_url: str) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    try:
        drive(app, 30, 5, clock)
        source = Source.of(app)
        view = open_view(app, READ_MODELS["search"])
        catch_up(view, source)
        before = stored(view)
        with pytest.raises(IntegrityError):
            view.fill({}, Tracking(source.name, source.head() + 1))
        assert stored(view) == before
        assert fill([], source) == source.head()  # nothing to fill is no error
    finally:
        app.close()


def test_a_rebuild_catches_up_with_events_written_during_the_bulk_pass(
    database_url: str,
) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=3), clock)
    try:
        drive(app, 60, 9, clock)
        source = Source.of(app)
        first_head = source.head()
        views = [open_view(app, READ_MODELS[n]) for n in ("board", "reports")]
        written = threading.Event()

        def on_page(position: int, head: int) -> None:
            if not written.is_set():  # more events while the bulk pass runs
                written.set()
                drive(app, 40, 10, clock)

        rebuild_many([(view, None) for view in views], source, page=5, on_page=on_page)
        assert source.head() > first_head
        for view in views:
            assert view.max_tracking_id(source.name) == source.head()
            assert stored(view) == folded(app, view.model)
    finally:
        app.close()


def test_ledger_rebuild_all_rebuilds_every_model_in_one_pass_and_logs_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.cli import main
    from ledger.settings import get_settings
    from ledger.worker import Worker

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=url), clock)
    try:
        drive(app, 60, 4, clock)
        head = Source.of(app).head()
    finally:
        app.close()
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert main(["rebuild", "--all"]) == 0
    finally:
        get_settings.cache_clear()
    assert f"{head}/{head} events" in capsys.readouterr().err
    app = Ledger(Settings(database_url=url))
    try:
        worker = Worker(app)
        logged = {row["key"]: row for row in worker.rebuilds.select()}
        assert set(logged) == set(MODELS)  # the registry's and the feed's
        for name, model in READ_MODELS.items():
            assert logged[name]["position"] == head
            assert stored(worker.views[name]) == folded(app, model)
        assert logged["feed"]["position"] == head
        assert_feed_reads_as_decoded(app, worker.views["feed"])
    finally:
        app.close()


def test_board_as_of_a_moment_after_every_event_comes_from_the_live_view(
    database_url: str,
) -> None:
    from datetime import timedelta

    from ledger.projections.timetravel import view_as_of

    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    try:
        drive(app, 70, 21, clock)
        source, board = Source.of(app), READ_MODELS["board"]
        live = open_view(app, board)
        reads: list[int] = []
        select = live.select
        live.select = lambda *a, **k: reads.append(1) or select(*a, **k)  # type: ignore[method-assign, func-returns-value]

        def shown(as_of: datetime, with_live: bool) -> dict[str, str]:
            return stored(view_as_of(source, board, as_of, live if with_live else None))

        later = clock.now() + timedelta(hours=1)
        assert shown(later, True) == shown(later, False)  # live view behind: folded
        assert reads == []
        catch_up(live, source)
        assert shown(later, True) == shown(later, False)
        assert len(reads) == 1  # the live rows were taken
        assert shown(later, False) == records_of(board, {row.order_id: row for row in select()})
        middle = T0 + (clock.now() - T0) / 2
        assert shown(middle, True) == shown(middle, False) != shown(later, False)
        assert len(reads) == 1  # an event after the moment: folded, live view unread
    finally:
        app.close()


def test_a_parallel_rebuild_of_all_models_on_postgres_equals_a_fold(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.projections import runner
    from ledger.worker import Worker

    monkeypatch.setattr(runner, "SPLIT_FROM", 1)
    spawned: list[Any] = []
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=postgres_url, pool_size=3), clock)
    try:
        drive(app, 90, 17, clock)
        worker = Worker(app)
        start_other = worker._fill_in_process

        def spy(views: Any, head: int, part: Any) -> Any:
            spawned.append(part)
            return start_other(views, head, part)

        worker._fill_in_process = spy  # type: ignore[method-assign]
        for view in worker.views.values():
            catch_up(view, Source.of(app), page=4)  # live views, then rebuilt
        entries = worker.rebuild_all(parallel=True)
        assert spawned == [(1, 2)]  # half of the orders folded by another process
        head = Source.of(app).head()
        assert [entry["position"] for entry in entries] == [head] * len(MODELS)
        for name, model in READ_MODELS.items():
            assert stored(worker.views[name]) == folded(app, model), name
        assert_feed_reads_as_decoded(app, worker.views["feed"])
    finally:
        app.close()


def test_rows_are_dumped_as_the_json_of_their_plain_values() -> None:
    import json

    from ledger.projections.rowkit import StepModel, dump_plain, plain

    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    try:
        drive(app, 120, 8, clock)
        notes = app.recorder.select_notifications(1, 10**6)
        events = [app.mapper.to_domain_event(n) for n in notes]
        checked = 0
        for model in READ_MODELS.values():
            if isinstance(model, StepModel):
                for row in fold_events(model, events).values():
                    expected = json.dumps(plain(row), ensure_ascii=False, separators=(",", ":"))
                    assert dump_plain(row) == model.dump(row) == expected
                    assert model.dump(model.load(expected)) == expected
                    checked += 1
        assert checked > 20
        with pytest.raises(TypeError):
            dump_plain({"when": clock.now()})
    finally:
        app.close()


def test_a_rebuild_that_cannot_ask_for_its_lease_fails_rather_than_reporting_busy(
    postgres_url: str,
) -> None:
    import dataclasses

    import psycopg

    from ledger.worker import RebuildBusy, Worker
    from ledger.worker.leases import AdvisoryLease

    app = Ledger(Settings(database_url=postgres_url, pool_size=2))
    try:
        worker = Worker(app)
        target = app.settings.database
        away = dataclasses.replace(target, port=1)
        worker._new_lease = lambda name: AdvisoryLease(away, name)
        with pytest.raises(psycopg.OperationalError):
            worker.rebuild("board")
        held = AdvisoryLease(target, "rebuild:board")
        assert held.acquire()
        try:
            worker._new_lease = lambda name: AdvisoryLease(target, name)
            with pytest.raises(RebuildBusy):
                worker.rebuild("board")
        finally:
            held.release()
        assert worker.rebuild("board")["position"] == Source.of(app).head()
    finally:
        app.close()


def test_a_runner_fills_a_never_written_view_in_bulk_then_goes_on_page_by_page(
    database_url: str,
) -> None:
    from ledger.projections.runner import Runner

    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=database_url, pool_size=2), clock)
    try:
        drive(app, 60, 12, clock)
        source, model = Source.of(app), READ_MODELS["backlog"]
        view = open_view(app, model)
        calls: list[str] = []
        fill_, write = view.fill, view.write
        view.fill = lambda *a: calls.append("fill") or fill_(*a)  # type: ignore[method-assign, func-returns-value]
        view.write = lambda *a, **k: calls.append("write") or write(*a, **k)  # type: ignore[method-assign, func-returns-value]
        runner = Runner(view, source, page=5)
        assert runner.run_once() == source.head()
        # One fill (SQLite and memory fill by one write); page by page it would
        # have been a write per 5 events.
        assert calls[0] == "fill" and calls.count("write") <= 1
        assert source.head() > 20
        assert stored(view) == folded(app, model)
        before = len(calls)
        drive(app, 30, 13, clock)
        assert runner.run_once() == source.head()
        assert "fill" not in calls[before:] and "write" in calls[before:]
        assert stored(view) == folded(app, model)
    finally:
        app.close()
