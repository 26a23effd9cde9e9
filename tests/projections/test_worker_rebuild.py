"""A rebuild under concurrent reads and writes: readers never see an empty or
partial model, and afterwards the view equals a rebuild from zero."""

from __future__ import annotations

import threading

from worker_support import CHECKS, CTX, folded, receive, stored

from ledger.application import Ledger
from ledger.projections.registry import READ_MODELS
from ledger.settings import Settings
from ledger.worker import Worker


def test_a_rebuild_while_orders_arrive_never_shows_readers_less_than_before(
    ledger_settings: Settings,
) -> None:
    app = Ledger(ledger_settings)
    for _ in range(40):
        receive(app)
    worker = Worker(app, only=["board", "search"]).start(schedule=False)
    board = worker.views["board"]
    worker.wait("board", app.recorder.max_notification_id(), timeout=5)
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(board.count())

    def write() -> None:
        for i in range(30):
            order = receive(app, "María").order
            if i % 2:
                app.verify(CTX, order.id, checks=CHECKS)

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(2):
            worker.rebuild("board")
            worker.rebuild("search")
        threads[1].join()
        done.set()
        threads[0].join()
        head = app.recorder.max_notification_id()
        for name in ("board", "search"):
            worker.wait(name, head, timeout=10)
            assert stored(worker.views[name]) == folded(app, READ_MODELS[name]), name
        assert min(seen) >= 40 and board.count() == 70
        assert {row["key"] for row in worker.rebuilds.select()} == {"board", "search"}
    finally:
        done.set()
        worker.stop()
        app.close()
