"""Several processes may start on an empty PostgreSQL database at once
(uvicorn workers): each must come up with the tables in place."""

from __future__ import annotations

import threading

import pytest

from ledger.application import Ledger
from ledger.settings import Settings

pytestmark = pytest.mark.postgres


def test_applications_starting_together_on_an_empty_schema_all_start(postgres_url: str) -> None:
    started: list[Ledger] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            started.append(Ledger(Settings(database_url=postgres_url, pool_size=1)))
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(started) == 6
    assert started[0].recorder.max_notification_id() in (None, 0)
    for ledger in started:
        ledger.close()


def test_read_model_views_opened_together_on_an_empty_schema_all_open(postgres_url: str) -> None:
    from ledger.projections.registry import READ_MODELS
    from ledger.projections.runner import open_view

    ledgers = [Ledger(Settings(database_url=postgres_url, pool_size=2)) for _ in range(4)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(ledgers))

    def open_all(ledger: Ledger) -> None:
        barrier.wait()
        try:
            for model in READ_MODELS.values():
                open_view(ledger, model)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=open_all, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        for model in READ_MODELS.values():
            view = open_view(ledgers[0], model)
            assert view.count() == 0 and view.max_tracking_id(ledgers[0].name) in (None, 0)
    finally:
        for ledger in ledgers:
            ledger.close()
