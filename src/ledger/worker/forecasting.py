"""The forecast job: every seasonal series forecast and stored, daily
(``LEDGER_FORECAST_CRON``) and once at start when the stored forecasts are
missing or more than a day old; ``ledger forecast`` runs it by hand
(``ledger.worker.commands``)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ledger.projections.forecast_store import forecasts_stale

if TYPE_CHECKING:
    from ledger.worker.process import Worker

log = logging.getLogger("ledger.worker")

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
    from ledger.projections.seasonal_report import run_forecasts  # numpy, statsmodels: late

    summary = run_forecasts(worker.forecasts, worker.views["seasonal"], now)
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
