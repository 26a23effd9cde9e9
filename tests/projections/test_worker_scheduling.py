"""Several processes, one store: advisory locks (PostgreSQL) or file locks
(SQLite) elect who runs each job and each projection, and the watchdog
restarts dead runners and takes over from a process that went away."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from worker_support import receive

from ledger.application import Ledger
from ledger.settings import Settings
from ledger.worker import Worker

FAST = {"alerts": IntervalTrigger(seconds=0.2), "rebuild": IntervalTrigger(seconds=0.5)}


def two_workers(url: str) -> tuple[list[Ledger], list[Worker]]:
    settings = Settings(database_url=url, pool_size=2, rebuild_cron="0 3 * * *",
                        rebuild_models="board")  # fmt: skip
    ledgers = [Ledger(settings), Ledger(settings)]
    return ledgers, [Worker(ledger, triggers=FAST) for ledger in ledgers]


def stop_all(ledgers: list[Ledger], workers: list[Worker]) -> None:
    for worker in workers:
        worker.stop()
    for ledger in ledgers:
        ledger.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{quote(str(tmp_path / 'shared.db'))}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_with_two_schedulers_on_one_store_each_job_runs_in_one_process_only(
    shared_url: str,
) -> None:
    ledgers, workers = two_workers(shared_url)
    try:
        for worker in workers:
            worker.start()
        receive(ledgers[0])
        time.sleep(2.2)
        runs = [[job for job, _ in worker.job_runs] for worker in workers]
    finally:
        stop_all(ledgers, workers)
    for job, interval in (("alerts", 0.2), ("rebuild", 0.5)):
        counts = [r.count(job) for r in runs]
        assert 0 in counts, (job, counts)  # one process ran it, the other never did
        assert 2.0 / interval - 3 <= max(counts) <= 2.2 / interval + 1, (job, counts)


def test_exactly_one_process_runs_each_projection_and_the_other_takes_over(
    shared_url: str,
) -> None:
    ledgers, workers = two_workers(shared_url)
    first, second = workers
    try:
        first.start(schedule=False)
        second.start(schedule=False)
        assert sorted(first.runners) == sorted(first.names) and second.runners == {}
        first.stop()  # the first process goes away: its leases with it
        second.watchdog()
        assert sorted(second.runners) == sorted(second.names)
        result = receive(ledgers[1])
        second.wait("board", result.position, timeout=5)
        assert second.views["board"].count() == 1
    finally:
        stop_all(ledgers, workers)


def test_the_watchdog_restarts_a_dead_or_stuck_runner() -> None:
    ledger = Ledger(Settings(database_url="memory://"))
    worker = Worker(ledger, only=["board"], stuck_seconds=0.0).start(schedule=False)
    try:
        dead = worker.runners["board"]
        dead.stop()
        worker.watchdog()
        restarted = worker.runners["board"]
        assert restarted is not dead and restarted.alive
        view = worker.views["board"]
        write = view.write

        def failing(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the view cannot be written")

        view.write = failing  # type: ignore[method-assign]  # alive, no progress
        receive(ledger)
        deadline = time.monotonic() + 5
        while restarted.error is None and time.monotonic() < deadline:
            time.sleep(0.02)  # the runner tried, and failed
        assert isinstance(restarted.error, RuntimeError) and restarted.alive
        worker.watchdog()  # first sight of the lag
        worker.watchdog()  # still no progress: restart
        assert worker.runners["board"] is not restarted and not restarted.alive
        view.write = write
        worker.wait("board", ledger.recorder.max_notification_id(), timeout=5)
        assert worker.runners["board"].error is None
    finally:
        worker.stop()
        ledger.close()


def test_the_seal_and_backup_jobs_seal_moved_heads_and_keep_the_newest_backups(
    shared_url: str, tmp_path: Path
) -> None:
    from ledger.audit.store import open_store

    settings = Settings(database_url=shared_url, pool_size=2, backup_cron="0 2 * * *",
                        backup_dir=str(tmp_path / "backups"), backup_keep=2,
                        audit_key="scheduled-seal-test-key")  # fmt: skip
    ledger = Ledger(settings)
    fast = {"seal": IntervalTrigger(seconds=0.3), "backup": IntervalTrigger(seconds=0.4)}
    worker = Worker(ledger, triggers=fast)
    try:
        receive(ledger)
        receive(ledger, "María")
        worker.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = [job for job, _ in worker.job_runs]
            if runs.count("backup") >= 4 and runs.count("seal") >= 1:
                break
            time.sleep(0.1)
        with open_store(ledger).snapshot() as snap:
            sealed = {seal.order for seal in snap.seals()}
    finally:
        worker.stop()
        ledger.close()
    runs = [job for job, _ in worker.job_runs]
    assert runs.count("backup") >= 4 and runs.count("seal") >= 1, runs
    assert len(sealed) == 2  # both orders' heads
    backups = sorted((tmp_path / "backups").glob("ledger-*.backup"))
    assert 1 <= len(backups) <= 2  # the newest two are kept
    assert all(path.stat().st_size > 0 for path in backups)


@pytest.mark.parametrize(
    ("overrides", "jobs"),
    [
        ({}, {"watchdog", "alerts", "seal", "forecast", "forecast-start"}),
        ({"alert_cron": "", "seal_cron": "", "forecast_cron": ""}, {"watchdog"}),
        ({"alert_cron": "0 * * * *", "backup_cron": "0 1 * * *", "forecast_cron": None},
         {"watchdog", "alerts", "seal", "backup"}),
    ],
)  # fmt: skip
def test_each_scheduled_job_runs_on_its_cron_and_an_empty_cron_turns_it_off(
    overrides: dict[str, str | None], jobs: set[str]
) -> None:
    ledger = Ledger(Settings(database_url="memory://", **overrides))  # type: ignore[arg-type]
    worker = Worker(ledger)
    try:
        worker.start()
        assert worker.scheduler is not None
        assert {job.id for job in worker.scheduler.get_jobs()} == jobs
    finally:
        worker.stop()
        ledger.close()


@pytest.mark.parametrize("name", ["rebuild", "alert", "seal", "backup", "forecast"])
def test_a_wrong_cron_is_refused_with_the_settings_not_when_the_job_is_due(name: str) -> None:
    with pytest.raises(ValueError, match="the last value \\(61\\) is higher"):
        Settings(**{f"{name}_cron": "61 * * * *"})  # type: ignore[arg-type]
