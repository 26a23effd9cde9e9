"""Benchmark the read models on PostgreSQL (`scripts/bench projections`).

Creates a fresh database, fills it with `ledger demo --orders N` (or uses
the one `--reuse URL` names, left as it is apart from the rebuilt views and
the lag phase's orders), then measures: the raw read rate of the events
table (SELECT in pages of 2000, no decoding), read again right before each
rebuild so every rebuild's ratio is to a baseline taken in the same minute;
a blue/green rebuild of each read model alone and of all of them together
(`ledger rebuild --all`: one pass over the log), in events of the log per
second; `GET /board?as_of=` in the middle of the data's period and now; live
lag p50/p90/p99 (command committed -> its position applied to the board by a
separate `ledger project` process, after a warm-up) at a steady 300
commands/s. Writes bench/projections.json; drops the database it made.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.projections.registry import READ_MODELS
from ledger.settings import Settings
from ledger.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
LEDGER = str(Path(sys.executable).with_name("ledger"))
TOKEN = "bench-" + uuid.uuid4().hex


def main() -> int:
    args = _arguments()
    orders = 3000 if args.quick else args.orders
    if args.reuse:
        results = _run(args.reuse, None, args.lag_seconds)
        _report(results, None, args.out)
        return 0
    dbname = f"ledger_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.pg_admin, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(dbname)))
    url = f"{args.pg_admin.rsplit('/', 1)[0]}/{dbname}"
    try:
        results = _run(url, orders, args.lag_seconds)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(
            sql.Identifier(dbname)))  # fmt: skip
        admin.close()
    _report(results, orders, args.out)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20000, help="demo orders (default 20000)")
    parser.add_argument("--quick", action="store_true", help="3000 orders, short lag phase")
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--reuse", metavar="URL", help="a database already holding demo data")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "projections.json"))
    args = parser.parse_args()
    if args.quick:
        args.lag_seconds = min(args.lag_seconds, 8.0)
    return args


def _run(url: str, orders: int | None, lag_seconds: float) -> dict[str, Any]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    started = time.perf_counter()
    if orders is not None:
        subprocess.run([LEDGER, "demo", "--orders", str(orders)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    demo_seconds = time.perf_counter() - started if orders is not None else None
    settings = Settings(database_url=url, tokens={TOKEN: "admin"}, run_projections=False)
    ledger = Ledger(settings)
    worker = Worker(ledger)
    try:
        head = worker.source.head()
        results: dict[str, Any] = {"events": head, "demo_seconds": _round(demo_seconds, 1)}
        results["rebuild"] = _rebuilds(ledger, worker, head)
        rates = [r["raw_select_events_per_s"] for r in results["rebuild"].values()]
        results["raw_select_events_per_s"] = round(statistics.median(rates))
        results["board_as_of"] = _retried(lambda: _as_of(ledger))
        print(f"  as_of: {results['board_as_of']}", flush=True)
        results["live_lag"] = _retried(lambda: _live_lag(ledger, worker, env, lag_seconds))
    finally:
        ledger.close()
    return results


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


RAW_SAMPLE: int | None = None  # read only the first N events for the baseline (scripts/bench)


def _raw_rate(ledger: Ledger, head: int) -> float:
    """The events table read in pages of 2000, as a rebuild reads it (no decoding)."""
    head = min(head, RAW_SAMPLE or head)
    started, position = time.perf_counter(), 0
    while position < head:
        notes = ledger.recorder.select_notifications(position, 2000, inclusive_of_start=False)
        if not notes:
            break
        position = notes[-1].id
    return position / (time.perf_counter() - started)


def _rebuilds(ledger: Ledger, worker: Worker, head: int) -> dict[str, Any]:
    """Each read model alone, then all together (one pass); each beside a raw
    read of the whole events table made just before it."""
    figures: dict[str, Any] = {}
    for name in [*READ_MODELS, "all"]:
        raw, seconds = _retried(partial(_measure_rebuild, ledger, worker, head, name))
        rate = head / seconds
        figures[name] = {"seconds": round(seconds, 3), "events_per_s": round(rate),
                         "raw_select_events_per_s": round(raw),
                         "ratio_to_raw": round(rate / raw, 3)}  # fmt: skip
        print(f"  rebuild {name}: {rate:,.0f} events/s, raw {raw:,.0f}/s", flush=True)
    return figures


def _measure_rebuild(ledger: Ledger, worker: Worker, head: int, name: str) -> tuple[float, float]:
    raw = _raw_rate(ledger, head)
    started = time.perf_counter()
    if name == "all":
        worker.rebuild_all()
    else:
        worker.rebuild(name)
    return raw, time.perf_counter() - started


T = TypeVar("T")


def _retried(measure: Callable[[], T], attempts: int = 4) -> T:
    """``measure()``, again after a pause when the server refused a connection
    (other work on the machine can use up its connection slots)."""
    for attempt in range(attempts):
        try:
            return measure()
        except psycopg.OperationalError as error:
            if attempt == attempts - 1:
                raise
            print(f"  (PostgreSQL refused: {error}; again in 10 s)", file=sys.stderr, flush=True)
            time.sleep(10)
    raise AssertionError("unreachable")


def _as_of(ledger: Ledger) -> dict[str, Any]:
    """``GET /board?as_of=`` halfway through the data's period, and now."""
    notes = ledger.recorder.select_notifications(1, 1)
    first = cast(Any, ledger.mapper.to_domain_event(notes[0])).timestamp if notes else None
    now = datetime.now(UTC)
    middle = first + (now - first) / 2 if first is not None else now
    app = create_app(ledger=ledger)
    figures: dict[str, Any] = {}
    with TestClient(app) as client:
        for label, moment in (("middle", middle), ("now", now)):
            started = time.perf_counter()
            response = client.get("/board", params={"as_of": moment.isoformat()},
                                  headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            assert response.status_code == 200, response.text
            cards = sum(column["count"] for column in response.json()["columns"])
            figures[f"{label}_seconds"] = round(time.perf_counter() - started, 3)
            figures[f"{label}_moment"] = moment.isoformat()
            figures[f"{label}_cards"] = cards
    return figures


def _live_lag(ledger: Ledger, worker: Worker, env: dict[str, str], seconds: float) -> Any:
    """Commands at 300/s; lag = the command committed (it returned) -> the board's
    tracked position covers its position (the row commits with it), polled every
    2 ms on a connection of its own. A second of commands first, unmeasured, so
    the `ledger project` process has started and caught up."""
    project = subprocess.Popen([LEDGER, "project", "--only", "board", "--no-schedule"],
                               env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    view, name = worker.views["board"], ledger.name
    position_sql = f"SELECT notification_id FROM {view.table}_tracking WHERE application_name = %s"
    watcher_conn = psycopg.connect(env["LEDGER_DATABASE_URL"], autocommit=True)
    lock = threading.Lock()
    try:
        warmup: list[tuple[int, float]] = []
        _steady_commands(ledger, 1.0, warmup, lock)
        deadline = time.monotonic() + 60
        while (view.max_tracking_id(name) or 0) < warmup[-1][0] and time.monotonic() < deadline:
            time.sleep(0.01)
        pending: list[tuple[int, float]] = []
        lags: list[float] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set() or pending:
                found = watcher_conn.execute(position_sql, (name,)).fetchone()
                reached = found[0] if found else 0
                now = time.perf_counter()
                with lock:
                    lags.extend(now - t for p, t in pending if p <= reached)
                    pending[:] = [(p, t) for p, t in pending if p > reached]
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        _steady_commands(ledger, seconds, pending, lock)
        done.set()
        watcher.join(timeout=30)
    finally:
        watcher_conn.close()
        project.terminate()
        project.wait(timeout=30)
    cuts = statistics.quantiles([lag * 1000 for lag in lags], n=100)
    return {"commands": len(lags), "rate_per_s": 300, "p50_ms": round(cuts[49], 1),
            "p90_ms": round(cuts[89], 1), "p99_ms": round(cuts[98], 1),
            "max_ms": round(max(lags) * 1000, 1)}  # fmt: skip


def _steady_commands(ledger: Ledger, seconds: float, pending: Any, lock: Any) -> None:
    from ledger.aggregates.values import Customer, Delivery, Line
    from ledger.application import Ctx

    ctx, interval = Ctx(actor="bench"), 1 / 300
    lines = [Line("A-100", "保溫杯", 3, __import__("decimal").Decimal("100.00"))]
    started = time.perf_counter()
    for i in range(int(seconds * 300)):
        due = started + i * interval
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        result = ledger.receive(ctx, channel="email", customer=Customer("華東五金"),
                                lines=lines, delivery=Delivery("上海", "王小明"))  # fmt: skip
        with lock:
            pending.append((result.position, time.perf_counter()))


def _report(results: dict[str, Any], orders: int | None, out: str) -> None:
    raw = results["raw_select_events_per_s"]
    shown = f"{orders} orders, " if orders is not None else "reused database, "
    print(f"demo: {shown}{results['events']} events ({results['demo_seconds']} s)")
    print(f"raw SELECT of the events table: {raw:,} events/s (median of the runs below)")
    for name, r in results["rebuild"].items():
        base = r["raw_select_events_per_s"]
        print(f"rebuild {name:<12} {r['events_per_s']:>9,} events/s  ({r['seconds']} s; "
              f"raw just before {base:,}/s, ratio {r['ratio_to_raw']})")  # fmt: skip
    lag = results["live_lag"]
    print(
        f"live lag at 300 commands/s: p50 {lag['p50_ms']} ms, p90 {lag['p90_ms']} ms, "
        f"p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms ({lag['commands']} commands)"
    )
    as_of = results["board_as_of"]
    print(f"GET /board?as_of=: {as_of['middle_seconds']} s (middle of the data, "
          f"{as_of['middle_cards']} cards), {as_of['now_seconds']} s (now, "
          f"{as_of['now_cards']} cards)")  # fmt: skip
    document = {"measured_at": datetime.now(UTC).isoformat(), "orders": orders, **results}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
