"""``ledger project`` (runners and scheduler in the foreground),
``ledger rebuild NAME|--all`` (blue/green, with a progress bar),
``ledger restore FILE`` (a backup loaded, then every read model rebuilt) and
``ledger forecast`` (the forecast job, once).

The worker is loaded with the ``ledger`` command anyway (``ledger.worker``
imports it), so these handlers import nothing late."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ledger.application import Ledger
from ledger.audit.cli_commands import opened_ledger
from ledger.audit.keys import existing_key, key_file
from ledger.audit.restore import leaving_nothing, open_backup
from ledger.cli_support import Progress
from ledger.settings import get_settings
from ledger.worker.forecasting import forecast_job
from ledger.worker.process import MODELS, RebuildBusy, Worker
from ledger.worker.projector import parent_gone
from ledger.worker.restore import restore


def add_project_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "project",
        help="run the projection runners and the scheduler until SIGTERM/SIGINT",
        description="Keep every read model (or those named) current, and run the "
        "scheduled jobs; several processes may run: leases elect who does what.",
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(MODELS), metavar="NAME",
        help=f"run only this read model (repeatable): {', '.join(MODELS)}",
    )  # fmt: skip
    parser.add_argument("--no-schedule", action="store_true", help="runners only, no jobs")
    parser.set_defaults(handler=project)


def add_rebuild_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rebuild",
        help="rebuild read models from the start, blue/green",
        description="Fill shadow tables from position zero while the live ones keep "
        "serving, then swap them in one transaction.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", choices=sorted(MODELS), metavar="NAME")
    target.add_argument(
        "--all", action="store_true", help="every read model, in one pass over the log"
    )
    parser.set_defaults(handler=rebuild)


def project(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    ledger = Ledger(get_settings())
    worker = Worker(ledger, only=args.only)
    try:
        worker.start(schedule=not args.no_schedule)
        print(f"ledger: projecting {', '.join(worker.names)}", file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            if parent_gone():  # started by `ledger serve`, which is gone
                break
    finally:
        worker.stop()
        ledger.close()
    print("ledger: projections stopped", file=sys.stderr)
    return 0


def rebuild(args: argparse.Namespace) -> int:
    ledger = Ledger(get_settings())
    worker = Worker(ledger)
    try:
        if args.all:  # one pass over the log feeds every read model
            bar = ProgressBar("all", sys.stderr)
            try:
                entries = worker.rebuild_all(on_page=bar.update)
            except RebuildBusy as busy:
                print(f"\nledger: {busy}", file=sys.stderr)
                return 2  # refused: another process is rebuilding (exit statuses: cli_support)
            bar.done(entries[0])
        else:
            bar = ProgressBar(args.name, sys.stderr)
            try:
                entry = worker.rebuild(args.name, on_page=bar.update)
            except RebuildBusy as busy:
                print(f"\nledger: {busy}", file=sys.stderr)
                return 2  # refused: another process is rebuilding (exit statuses: cli_support)
            bar.done(entry)
    finally:
        ledger.close()
    return 0


def add_restore_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "restore", help="load a backup into an empty store, then rebuild the read models"
    )
    parser.add_argument("file", type=Path)
    parser.set_defaults(handler=run_restore)


def run_restore(args: argparse.Namespace) -> int:
    """Check the backup before the store is even opened, so a refusal (a missing
    key, a corrupt file) creates nothing; a later one removes what was created."""
    settings = get_settings()
    with (
        leaving_nothing(settings),
        open_backup(args.file, existing_key(settings)) as checked,
        opened_ledger(create=True) as ledger,
    ):
        progress = Progress("restore", checked.events)
        counts = restore(ledger, checked, progress)
        progress.finish()
    print(f"restored {counts['events']} events of {counts['orders']} orders; projections rebuilt")
    if settings.database.backend == "sqlite":
        print(f"the audit key it verified with is kept in {key_file(settings)} (mode 0600)")
    return 0


def add_forecast_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "forecast",
        help="forecast every seasonal series now and store the forecasts",
        description="Run the daily forecast job once: bring the seasonal read model up "
        "to date, forecast every series (product, family, customer, transport mode) and "
        "replace the stored forecasts that GET /reports/seasonal shows.",
    )
    parser.set_defaults(handler=forecast_command)


def forecast_command(args: argparse.Namespace) -> int:
    ledger = Ledger(get_settings())
    try:
        worker = Worker(ledger, only=["seasonal"])
        summary = forecast_job(worker)
        print(json.dumps(summary, ensure_ascii=False), file=sys.stdout)
    finally:
        ledger.close()
    return 0


class ProgressBar:
    """``name [#####.....]  45%  12000/26000 events  <rate> ev/s`` on one line."""

    def __init__(self, name: str, out: TextIO, width: int = 30) -> None:
        self.name, self.out, self.width = name, out, width
        self.started = time.monotonic()
        self.shown = 0.0
        self.clock: Callable[[], float] = time.monotonic

    def update(self, position: int, head: int) -> None:
        now = self.clock()
        if now - self.shown < 0.1 and position < head:
            return
        self.shown = now
        share = position / head if head else 1.0
        filled = int(share * self.width)
        rate = position / max(now - self.started, 1e-9)
        self.out.write(
            f"\r{self.name:<10} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{share:>4.0%}  {position}/{head} events  {rate:,.0f} ev/s"
        )
        self.out.flush()

    def done(self, entry: dict[str, Any]) -> None:
        self.update(entry["position"], entry["position"])
        self.out.write(f"  done in {entry['seconds']} s\n")
        self.out.flush()
