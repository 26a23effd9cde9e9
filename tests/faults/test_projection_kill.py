"""The projection process (`ledger project`) SIGKILLed in the middle of a soak
and started again: afterwards every read model equals a rebuild from zero,
and the store still accounts for every answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fault_support import (
    Soak,
    assert_soak_accounted,
    open_ledger,
    serving,
    start_projector,
)

from ledger.application import Ledger
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_projection_process_killed_during_the_soak_resumes_to_a_rebuild(
    fault_database: str, tmp_path: Path
) -> None:
    projectors: list[subprocess.Popen[bytes]] = []
    moments: dict[str, int] = {}  # calls answered at the kill and at the restart

    def kill_and_restart(soak: Soak) -> None:
        total = soak.planned + len(soak.shared)
        while soak.done() < total // 3 or tracked(app) == 0:  # killed while at work
            time.sleep(0.01)
        os.kill(projectors[0].pid, signal.SIGKILL)
        moments["kill"] = soak.done()
        projectors[0].wait(timeout=10)
        # Writes go on with no projector: until half-way, and for a few answers
        # at least when the first projector was slow to apply anything.
        while soak.done() < min(max(total // 2, moments["kill"] + 8), total):
            time.sleep(0.01)
        moments["restart"] = soak.done()
        projectors.append(start_projector(fault_database, tmp_path, 2, wait=False))

    with serving(fault_database, tmp_path, projections=False) as service:
        projectors.append(start_projector(fault_database, tmp_path, 1))
        app = open_ledger(fault_database)
        try:
            soak = Soak(service.url)
            soak.prepare()
            soak.run(during=kill_and_restart)
            assert_soak_accounted(app, soak, logs=lambda: projector_logs(tmp_path))
        finally:
            app.close()
            for projector in projectors:
                if projector.poll() is None:
                    projector.send_signal(signal.SIGTERM)
                    projector.wait(timeout=20)
    assert projectors[0].returncode == -signal.SIGKILL
    assert projectors[1].returncode == 0
    assert 0 < moments["kill"] < moments["restart"] < len(soak.calls)  # both mid-soak


def projector_logs(tmp_path: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                     for p in sorted(tmp_path.glob("project-*.log")))  # fmt: skip


def tracked(app: Ledger) -> int:
    """How far the read models have got, all together."""
    views = [open_view(app, model) for model in READ_MODELS.values()]
    return sum(view.max_tracking_id(app.name) or 0 for view in views)
