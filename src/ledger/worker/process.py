"""The worker: the read models' runners and the scheduled jobs of one process.

``Worker.start`` takes the lease of each read model it is asked to run and
starts its runner; a read model whose lease another process holds is left
to that process (the watchdog tries again, so it takes over when the other
process dies). The APScheduler jobs are the watchdog (every process: restart
a dead or stuck runner, pick up free leases), the alert scan and the nightly
rebuild (each elected: the process holding the job's lease runs it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from eventsourcing.persistence import IntegrityError

from ledger.application import Ledger
from ledger.audit.backup import run_scheduled_backup
from ledger.audit.keys import AuditKeyProblem
from ledger.audit.service import seal
from ledger.clock import Clock
from ledger.integration.alert_events import CONDITIONS, AlertEvents
from ledger.integration.feed_model import FEED
from ledger.projections.alerts import ALERTS, scan_alerts
from ledger.projections.bulk import fill
from ledger.projections.forecast_store import FORECASTS, TABLE
from ledger.projections.framework import Part, ReadModel, Source, View, catch_up
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import (
    REBUILD_PAGE,
    Runner,
    RunnerGroup,
    WakerHub,
    open_view,
    rebuild,
    rebuild_many,
)
from ledger.projections.side_tables import RecordsModel, Row, text, update
from ledger.settings import Settings
from ledger.worker.forecasting import forecast_job
from ledger.worker.leases import Lease, lease_factory
from ledger.worker.status import model_status
from ledger.worker.webhooks import WebhookRunner

log = logging.getLogger("ledger.worker")

REBUILDS = RecordsModel("rebuilds", (text("finished_at"),))
OnPage = Callable[[int, int], None]


MODELS: dict[str, ReadModel[Any]] = {**READ_MODELS, FEED.name: FEED}
"""The read models the worker runs and rebuilds: the registered ones and the
change feed's (``integration.feed_model``: it is made by the feed's own
decoding, a layer above the registry)."""


class RebuildBusy(RuntimeError):
    """Another rebuild of the same read model is running."""


def chosen_models(names: str | Sequence[str] | None) -> list[str]:
    """Registered read-model names from "all", a comma list or a sequence."""
    if names is None or names == "all":
        return list(MODELS)
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in MODELS]
    if unknown:
        raise ValueError(f"unknown read model(s) {unknown}; known: {', '.join(MODELS)}")
    return [n for n in wanted if n]


class Worker:
    """Runners for the chosen read models, plus the scheduler, in this process."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        only: Sequence[str] | None = None,
        clock: Clock | None = None,
        triggers: Mapping[str, Any] | None = None,
        stuck_seconds: float = 60.0,
    ) -> None:
        self.ledger = ledger
        self.settings: Settings = ledger.settings
        self.clock = clock
        self.source = Source.of(ledger)
        self.names = chosen_models(list(only) if only else None)
        self.views: dict[str, View[Any]] = {n: open_view(ledger, m) for n, m in MODELS.items()}
        self.alerts: View[Row] = open_view(ledger, ALERTS, "alerts")
        self.alert_events = AlertEvents(ledger, open_view(ledger, CONDITIONS, "alert_conditions"))
        self.rebuilds: View[Row] = open_view(ledger, REBUILDS, "projection_rebuilds")
        self.forecasts: View[Row] = open_view(ledger, FORECASTS, TABLE)
        self.runners: dict[str, Runner[Any]] = {}
        self.job_runs: list[tuple[str, float]] = []  # (job, monotonic time) run here
        self.stuck_seconds = stuck_seconds
        self._triggers = dict(triggers or {})
        self._new_lease = lease_factory(self.settings)
        self.webhooks = WebhookRunner.of(ledger, self.views["search"], self._new_lease)
        self._leases: dict[str, Lease] = {}
        self._progress: dict[str, tuple[int, float]] = {}
        self._hub: WakerHub | None = None
        self._group: RunnerGroup | None = None
        self._guard = threading.RLock()
        self._background: list[threading.Thread] = []
        self._stopping = False
        self._jobs_running = 0
        self._jobs_done = threading.Condition()
        self.scheduler: BackgroundScheduler | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self, *, schedule: bool = True) -> Worker:
        """Take free leases and start their runners; the watchdog then keeps
        doing so every 10 s (a lease held by a dead predecessor, a store that
        was away). ``schedule=False`` leaves out the elected jobs only."""
        self._stopping = False
        self._hub = WakerHub(self.source.recorder)
        self._group = RunnerGroup(self.source, hub=self._hub)
        self.webhooks.start(self._hub)
        try:
            self.watchdog()
        except Exception:  # the store may be away at start: the watchdog retries
            log.warning("projection watchdog failed at start", exc_info=True)
        self.scheduler = self._scheduler(jobs=schedule)
        self.scheduler.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        with self._jobs_done:  # a job still running must not outlive the store's connections
            self._jobs_done.wait_for(lambda: self._jobs_running == 0, timeout=30)
        for thread in self._background:
            thread.join(timeout=10)  # an abandoned rebuild leaves only a shadow table
        with self._guard:
            for runner in self.runners.values():
                runner.stop()
            self.runners.clear()
            for lease in self._leases.values():
                lease.release()
            self._leases.clear()
        self.webhooks.stop()
        if self._group is not None:
            self._group.stop()
            self._group = None
        if self._hub is not None:
            self._hub.close()
            self._hub = None

    @property
    def stopping(self) -> bool:
        """``stop`` was called: long jobs should return."""
        return self._stopping

    def _lease(self, name: str) -> Lease:
        with self._guard:
            return self._leases.setdefault(name, self._new_lease(name))

    def _scheduler(self, *, jobs: bool = True) -> BackgroundScheduler:
        """The watchdog always; the elected jobs unless ``jobs`` is false."""
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        scheduler.add_job(
            self._watch, self._triggers.get("watchdog", IntervalTrigger(seconds=10)),
            id="watchdog", name="watchdog",
        )  # fmt: skip
        elected: dict[str, tuple[Any, Callable[[], Any]]] = {}
        crons: dict[str, tuple[str | None, Callable[[], Any]]] = {
            "alerts": (self.settings.alert_cron, self.scan_alerts),
            "rebuild": (self.settings.rebuild_cron, self.nightly_rebuild),
            "seal": (self.settings.seal_cron, self.seal_chain),
            "backup": (self.settings.backup_cron, self.scheduled_backup),
            "forecast": (self.settings.forecast_cron, self.forecast),
        }
        for name, (cron, run) in crons.items():
            if jobs and cron:
                elected[name] = (CronTrigger.from_crontab(cron, UTC), run)
        for name, (trigger, run) in elected.items():
            task = self._elected(name, run)
            scheduler.add_job(task, self._triggers.get(name, trigger), id=name, name=name)
        if "forecast" in elected:  # no forecasts yet, or yesterday's: make them at start
            at = DateTrigger(datetime.now(UTC) + timedelta(seconds=2), timezone=UTC)
            task = self._elected("forecast", lambda: self.forecast(only_if_stale=True))
            scheduler.add_job(task, at, id="forecast-start", name="forecast-start")
        return scheduler

    def _elected(self, job: str, run: Callable[[], Any]) -> Callable[[], None]:
        """``run``, in the one process holding the job's lease."""

        def task() -> None:
            if self._stopping or not self._lease(f"job:{job}").acquire():
                return
            self.job_runs.append((job, time.monotonic()))
            with self._running():
                try:
                    run()
                except Exception:
                    log.exception("scheduled job %s failed", job)

        return task

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        """Count a job as running: ``stop`` waits for it before closing the store."""
        with self._jobs_done:
            self._jobs_running += 1
        try:
            yield
        finally:
            with self._jobs_done:
                self._jobs_running -= 1
                self._jobs_done.notify_all()

    # -- runners --------------------------------------------------------------

    def _watch(self) -> None:
        if self._stopping:
            return
        with self._running():
            try:
                self.watchdog()
            except Exception:  # the store may be briefly away; the next run retries
                if not self._stopping:
                    log.warning("projection watchdog failed", exc_info=True)

    def watchdog(self) -> None:
        """Start runners whose lease is free; restart dead or stuck ones."""
        head = self.source.head()
        with self._guard:
            if self._stopping:  # ``stop`` has taken the runners down: start none
                return
            for name in self.names:
                if not self._lease(f"projection:{name}").acquire():
                    self._drop(name)  # another process runs it (or took it over)
                    continue
                runner = self.runners.get(name)
                if runner is None or not runner.alive or self._stuck(name, runner, head):
                    self._drop(name)
                    self.runners[name] = self._runner(name).start()
                    log.info("projection %s: runner started", name)

    def _runner(self, name: str) -> Runner[Any]:
        """A runner stepped by this process's group (one thread, one read of
        each page, one transaction for every view: ``RunnerGroup``)."""
        return Runner(self.views[name], self.source, hub=self._hub, group=self._group)

    def _drop(self, name: str) -> None:
        runner = self.runners.pop(name, None)
        if runner is not None:
            runner.stop()

    def _stuck(self, name: str, runner: Runner[Any], head: int) -> bool:
        """No progress for ``stuck_seconds`` while behind the head."""
        now = time.monotonic()
        last = self._progress.get(name)
        if runner.position >= head or last is None or last[0] != runner.position:
            self._progress[name] = (runner.position, now)
            return False
        if now - last[1] > self.stuck_seconds:
            log.warning("projection %s: stuck at %d; restarting", name, runner.position)
            self._progress.pop(name)
            return True
        return False

    def wait(self, name: str, position: int | None, timeout: float) -> None:
        """Until ``name`` has applied ``position``; TimeoutError if it has not.

        With no runner here, an embedded store (one process) catches the view
        up in the caller's thread; PostgreSQL waits for the process running it.
        """
        runner = self.runners.get(name)
        view = self.views[name]
        if runner is not None and runner.alive:
            runner.wait_for(position, timeout)
        elif self.settings.database.backend != "postgres" and position is not None:
            with contextlib.suppress(IntegrityError):  # someone else moved it on
                catch_up(view, self.source, until=position)
            view.wait(self.source.name, position, timeout=timeout)
        else:
            view.wait(self.source.name, position, timeout=timeout)

    # -- jobs -----------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def scan_alerts(self, now: datetime | None = None) -> int:
        """Replace the alerts by those due now (or at ``now``), and record on the
        feed the overdue and transit-exception conditions that started or ended."""
        count = scan_alerts(
            self.alerts,
            self.views["backlog"],
            self.views["board"],
            now=now or self.now(),
            stale_days=self.settings.stale_days,
        )
        self.alert_events.record(self.alerts.select(), self.views["search"])
        return count

    def seal_chain(self) -> int:
        """Seal the chain heads that moved since their last seal (LEDGER_SEAL_CRON)."""
        try:
            report, sealed = seal(self.ledger, self.now())
        except AuditKeyProblem as missing:
            log.warning("audit: chain heads not sealed: %s", missing)
            return 0
        if report.other_keys:
            log.error("audit: nothing sealed: %s", report.key_statement())
        elif not report.ok:
            log.error("audit: %d findings; those orders stay unsealed", len(report.findings))
        return sealed

    def scheduled_backup(self) -> str:
        """A backup into LEDGER_BACKUP_DIR, keeping LEDGER_BACKUP_KEEP (LEDGER_BACKUP_CRON)."""
        path = run_scheduled_backup(self.settings)
        log.info("backup written: %s", path.name)
        return path.name

    def forecast(self, *, only_if_stale: bool = False) -> dict[str, Any] | None:
        """Forecast every seasonal series and store them (LEDGER_FORECAST_CRON)."""
        return forecast_job(self, only_if_stale=only_if_stale)

    def nightly_rebuild(self) -> None:
        self.rebuild_all(chosen_models(self.settings.rebuild_models))

    def rebuild(self, name: str, on_page: OnPage | None = None) -> Row:
        """Rebuild ``name`` blue/green and log it; RebuildBusy if one is running."""
        return self._rebuild(name, self._rebuild_lease(name), on_page)

    def rebuild_all(
        self,
        names: Sequence[str] | None = None,
        on_page: OnPage | None = None,
        *,
        parallel: bool = True,
    ) -> list[Row]:
        """Rebuild several read models (default: all) blue/green in one pass over
        the log, and log each; RebuildBusy if any of them is being rebuilt.

        On PostgreSQL (``parallel``) a second process folds half of the orders
        from its own read of the log meanwhile."""
        chosen = chosen_models(list(names) if names else None)
        leases: list[Lease] = []
        try:
            for name in chosen:
                leases.append(self._rebuild_lease(name))
            started, started_at = time.monotonic(), self.now()
            targets = [(self.views[name], self._runner_lock(name)) for name in chosen]
            elsewhere = self._fill_in_process if parallel and self._postgres else None
            positions = rebuild_many(targets, self.source, on_page=on_page, elsewhere=elsewhere)
            seconds = time.monotonic() - started
        finally:
            for lease in leases:
                lease.release()
        entries = [
            self._rebuilt(name, started_at, seconds, position)
            for name, position in zip(chosen, positions, strict=True)
        ]
        update(self.rebuilds, lambda current: {str(entry["key"]): entry for entry in entries})
        return entries

    @property
    def _postgres(self) -> bool:
        return self.settings.database.backend == "postgres"

    def _fill_in_process(
        self, views: Sequence[View[Any]], head: int, part: Part
    ) -> Callable[[], None]:
        """Start filling ``views`` (shadows) up to ``head`` with ``part`` of the
        orders in a new process."""
        tables = [(view.model.name, view.table) for view in views]
        order = json.dumps(
            {
                "settings": self.settings.model_dump(mode="json"),
                "tables": tables,
                "head": head,
                "part": list(part),
            }
        )
        child = subprocess.Popen(
            [sys.executable, "-c", "from ledger.worker.process import fill_main; fill_main()"],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None
        child.stdin.write(order)
        child.stdin.close()

        def join() -> None:
            if child.wait() != 0:
                names = ", ".join(name for name, _ in tables)
                raise RuntimeError(f"rebuilding {names} failed (exit status {child.returncode})")

        return join

    def _runner_lock(self, name: str) -> Any:
        runner = self.runners.get(name)
        return runner.lock if runner is not None else None

    def rebuild_in_background(self, name: str) -> threading.Thread:
        """Start rebuilding ``name`` in a thread; RebuildBusy (at once) if one is running."""
        lease = self._rebuild_lease(name)

        def run() -> None:
            try:
                self._rebuild(name, lease, None)
            except Exception:
                log.exception("rebuild of %s failed", name)

        thread = threading.Thread(target=run, name=f"rebuild-{name}", daemon=True)
        thread.start()
        self._background.append(thread)
        return thread

    def _rebuild_lease(self, name: str) -> Lease:
        if name not in self.views:
            raise KeyError(name)
        lease = self._new_lease(f"rebuild:{name}")
        if not lease.acquire():
            error = getattr(lease, "error", None)
            if error is not None:  # the store could not be asked: not "busy"
                raise error
            raise RebuildBusy(f"{name} is being rebuilt already")
        return lease

    def _rebuild(self, name: str, lease: Lease, on_page: OnPage | None) -> Row:
        try:
            started, started_at = time.monotonic(), self.now()
            runner = self.runners.get(name)
            elsewhere = self._fill_in_process if self._postgres else None
            if runner is not None:
                position = runner.rebuild(on_page=on_page, elsewhere=elsewhere)
            else:
                position = rebuild(
                    self.views[name], self.source, on_page=on_page, elsewhere=elsewhere
                )
            seconds = time.monotonic() - started
        finally:
            lease.release()
        entry = self._rebuilt(name, started_at, seconds, position)
        update(self.rebuilds, lambda current: {name: entry})
        return entry

    def _rebuilt(self, name: str, started_at: datetime, seconds: float, position: int) -> Row:
        return {
            "key": name, "started_at": started_at.isoformat(),
            "finished_at": self.now().isoformat(), "seconds": round(seconds, 3),
            "position": position, "events_per_s": round(position / seconds) if seconds else None,
        }  # fmt: skip

    def status(self) -> list[Row]:
        """Per read model: position, head, lag, last rebuild, rows, runner."""
        head = self.source.head()
        rebuilt = {row["key"]: row for row in self.rebuilds.select()}
        now = datetime.now(UTC)
        return [
            model_status(name, view, self.source, head, now, self.runners.get(name), rebuilt)
            for name, view in self.views.items()
        ]


def fill_main() -> None:
    """The second process of a rebuild on PostgreSQL: reads its settings, the
    (read model, shadow table) pairs, the position to fill up to and its part
    of the orders as JSON on stdin, and fills those views from position zero."""
    order = json.loads(sys.stdin.read())
    ledger = Ledger(Settings(**order["settings"]))
    index, count = order["part"]
    try:
        views = [open_view(ledger, MODELS[name], table) for name, table in order["tables"]]
        fill(views, Source.of(ledger), page=REBUILD_PAGE, until=order["head"], part=(index, count))
    finally:
        ledger.close()
