"""The forecast job: every seasonal series forecast and stored, daily
(``LEDGER_FORECAST_CRON``) and once at start when the stored forecasts are
missing or more than a day old; ``ledger forecast`` runs it by hand
(``ledger.worker.commands``).

On a SQL store the forecasting itself runs in a child process
(``forecast_main``): it imports statsmodels and holds every series, some
250 MB and up to a minute of CPU on a large store, which a served worker
(where the scheduler runs) would otherwise keep for good. The in-memory
store cannot be shared with another process, so there it runs here.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.application import Ledger
from ledger.projections.forecast_store import FORECASTS, forecasts_stale
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view
from ledger.settings import Settings

if TYPE_CHECKING:
    from ledger.worker.process import Worker

log = logging.getLogger("ledger.worker")

CHILD = "from ledger.worker.forecasting import forecast_main; forecast_main()"
CATCH_UP_SECONDS = 300.0  # how long the job waits for the seasonal view to reach the head


def forecast_job(
    worker: Worker, *, only_if_stale: bool = False, wait: float = CATCH_UP_SECONDS
) -> dict[str, Any] | None:
    """Forecast every series from the seasonal view once it has caught up with
    the log (or after ``wait`` seconds, with what it has); None if skipped."""
    now = worker.now()
    if only_if_stale and not forecasts_stale(worker.forecasts, now):
        return None
    caught_up = _caught_up(worker, wait)
    if worker.stopping:
        return None
    if not caught_up:
        log.warning("forecasts: the seasonal view is behind the log; forecasting what it has")
    summary: dict[str, Any] | None
    if worker.settings.database.backend == "memory":
        from ledger.projections.seasonal_report import run_forecasts  # numpy, statsmodels: late

        summary = run_forecasts(worker.forecasts, worker.views["seasonal"], now)
    else:
        summary = _in_child(worker, now)
        if summary is None:  # the worker stopped meanwhile
            return None
    log.info("forecasts: %d series in %.1f s %s", summary["series"], summary["seconds"],
             summary["methods"])  # fmt: skip
    return summary


def _caught_up(worker: Worker, wait: float) -> bool:
    """Wait for the seasonal view to reach the head of the log, a second at a
    time so that a stopping worker is not kept waiting."""
    head = worker.source.head()
    deadline = time.monotonic() + wait
    while not worker.stopping:
        try:
            worker.wait("seasonal", head, timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            return True
        except TimeoutError:
            if time.monotonic() >= deadline:
                return False
    return False


def _in_child(worker: Worker, now: datetime) -> dict[str, Any] | None:
    """``run_forecasts`` in a child process (see above); None if the worker
    stopped meanwhile (the child is killed: the stored forecasts are replaced
    in one transaction, so they stay as they were)."""
    order = json.dumps({
        "settings": worker.settings.model_dump(mode="json"),
        "forecasts": worker.forecasts.table,
        "seasonal": worker.views["seasonal"].table,
        "now": now.isoformat(),
    })  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    sent: str | None = order
    while True:
        try:
            answer, _ = child.communicate(sent, timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            sent = None  # given once; waiting again loses no output
            if worker.stopping:
                child.kill()
                child.wait()
                return None
    if child.returncode != 0:
        raise RuntimeError(f"the forecast process failed (exit status {child.returncode})")
    summary: dict[str, Any] = json.loads(answer)
    return summary


def forecast_main() -> None:
    """The forecast job's child process: its settings, the two tables and the
    moment as JSON on stdin; the job's summary as JSON on stdout."""
    from ledger.projections.seasonal_report import run_forecasts  # numpy, statsmodels

    order = json.loads(sys.stdin.read())
    ledger = Ledger(Settings(**order["settings"]))
    try:
        forecasts = open_view(ledger, FORECASTS, order["forecasts"])
        seasonal = open_view(ledger, READ_MODELS["seasonal"], order["seasonal"])
        summary = run_forecasts(forecasts, seasonal, datetime.fromisoformat(order["now"]))
    finally:
        ledger.close()
    sys.stdout.write(json.dumps(summary))
