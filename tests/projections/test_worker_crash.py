"""Crash safety: `ledger project` killed with SIGKILL in the middle of its
work resumes from its tracked positions; nothing is applied twice or lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from worker_support import CHECKS, CTX, folded, receive, stored

from ledger.application import Ledger
from ledger.projections.framework import View
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view
from ledger.settings import Settings

FACTS_MODELS = ("board", "backlog", "search")
LEDGER = str(Path(sys.executable).with_name("ledger"))


def write(app: Ledger, orders: int) -> None:
    for i in range(orders):
        order = receive(app, f"客户 {i % 7}").order
        if i % 3:
            app.verify(CTX, order.id, checks=CHECKS)


def project(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_POOL_SIZE": "3"}
    return subprocess.Popen([LEDGER, "project", "--no-schedule"], env=env,
                            stderr=subprocess.PIPE)  # fmt: skip


def positions(views: Mapping[str, View[Any]], app: Ledger) -> dict[str, int]:
    return {n: v.max_tracking_id(app.name) or 0 for n, v in views.items()}


@pytest.mark.postgres
@pytest.mark.slow
def test_a_projection_process_killed_mid_batch_resumes_without_loss_or_double_work(
    postgres_url: str,
) -> None:
    app = Ledger(Settings(database_url=postgres_url, pool_size=4))
    views = {name: open_view(app, READ_MODELS[name]) for name in FACTS_MODELS}
    write(app, 250)
    first = project(postgres_url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # kill once it has started but not finished
            write(app, 5)
            head = app.recorder.max_notification_id() or 0
            if any(0 < p < head for p in positions(views, app).values()):
                break
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=10)
    behind = positions(views, app)
    write(app, 30)
    head = app.recorder.max_notification_id() or 0
    assert min(behind.values()) < head
    second = project(postgres_url)
    try:
        deadline = time.monotonic() + 30
        while min(positions(views, app).values()) < head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
    assert min(positions(views, app).values()) >= head
    for name, view in views.items():
        assert stored(view) == folded(app, READ_MODELS[name]), name
    app.close()
