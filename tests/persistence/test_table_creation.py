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
