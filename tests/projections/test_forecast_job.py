"""The forecast job: scheduled daily, run at start when there are no
forecasts or only a day-old ones, elected to one process, and by hand with
``ledger forecast``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from apscheduler.triggers.cron import CronTrigger
from worker_support import receive

from fresh import run_fresh
from ledger.application import Ledger
from ledger.projections.forecast_store import computed_at, forecasts_stale
from ledger.projections.side_tables import replace_all
from ledger.settings import Settings
from ledger.worker import Worker


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{quote(str(tmp_path / 'jobs.db'))}"


def wait_for_forecasts(worker: Worker, seconds: float = 20) -> datetime:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        made = computed_at(worker.forecasts)
        if made is not None:
            return made
        time.sleep(0.1)
    raise AssertionError(f"no forecasts after {seconds} s; jobs run: {worker.job_runs}")


def test_the_job_runs_at_start_without_forecasts_and_not_again_the_same_day(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=sqlite_url(tmp_path), pool_size=2)
    ledger = Ledger(settings)
    try:
        receive(ledger)
        receive(ledger, "María")
        first = Worker(ledger).start()
        try:
            made = wait_for_forecasts(first)
            keys = {row["key"] for row in first.forecasts.select()}
            assert {"product:A", "family:A", "customer:王小明", "customer:María"} <= keys
            job = first.scheduler.get_job("forecast")  # type: ignore[union-attr]
            assert isinstance(job.trigger, CronTrigger) and "hour='2'" in str(job.trigger)
        finally:
            first.stop()
        again = Worker(ledger).start()
        try:
            deadline = time.monotonic() + 10
            while "forecast" not in [job for job, _ in again.job_runs]:
                assert time.monotonic() < deadline, again.job_runs
                time.sleep(0.1)
            assert computed_at(again.forecasts) == made  # fresh: left alone
        finally:
            again.stop()
    finally:
        ledger.close()


def test_forecasts_go_stale_after_a_day(tmp_path: Path) -> None:
    ledger = Ledger(Settings(database_url="memory://"))
    worker = Worker(ledger)
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    assert forecasts_stale(worker.forecasts, now)
    made = (now - timedelta(hours=20)).isoformat()
    replace_all(worker.forecasts, {"product:A": {"key": "product:A", "by": "product",
                                                "series": "A", "computed_at": made}})  # fmt: skip
    assert not forecasts_stale(worker.forecasts, now)
    assert forecasts_stale(worker.forecasts, now + timedelta(hours=5))


def test_without_a_cron_there_is_no_forecast_job(tmp_path: Path) -> None:
    ledger = Ledger(Settings(database_url="memory://", forecast_cron=None))
    worker = Worker(ledger).start()
    try:
        assert worker.scheduler is not None
        names = {job.id for job in worker.scheduler.get_jobs()}
        assert "forecast" not in names and "forecast-start" not in names
    finally:
        worker.stop()


def test_ledger_forecast_runs_the_job_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "LEDGER_DATABASE_URL": sqlite_url(tmp_path),
    }
    demo = [sys.executable, "-m", "ledger.cli", "demo", "--orders", "40", "--years", "2"]
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "forecast"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["series"] > 20 and sum(summary["methods"].values()) >= 3 * summary["series"]


def test_on_a_sql_store_the_job_forecasts_in_a_child_so_the_worker_never_loads_statsmodels(
    tmp_path: Path,
) -> None:
    """The served worker that runs the job keeps neither statsmodels (about
    110 MB) nor the series: a child process forecasts and stores them. (Two
    orders make series too short for Holt-Winters, so the forecasting code
    stands in for statsmodels here.)"""
    url = sqlite_url(tmp_path)
    ledger = Ledger(Settings(database_url=url))
    receive(ledger)
    receive(ledger, "María")
    ledger.close()
    script = [
        "import json, sys",
        "from ledger.application import Ledger",
        "from ledger.settings import Settings",
        "from ledger.worker import Worker",
        f"ledger = Ledger(Settings(database_url={url!r}))",
        "worker = Worker(ledger).start(schedule=False)",
        "summary = worker.forecast()",
        "worker.stop()",
        "ledger.close()",
        "loaded = [m for m in ('statsmodels', 'ledger.projections.forecast') if m in sys.modules]",
        "print(json.dumps({'summary': summary, 'loaded': loaded}))",
    ]  # fmt: skip
    answer = run_fresh(script)
    assert answer["loaded"] == []  # neither statsmodels nor the forecasting code
    assert answer["summary"]["series"] >= 4
    ledger = Ledger(Settings(database_url=url))
    try:
        keys = {row["key"] for row in Worker(ledger).forecasts.select()}
        assert {"product:A", "family:A", "customer:王小明", "customer:María"} <= keys
    finally:
        ledger.close()
