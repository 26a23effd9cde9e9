"""Benchmark the read models on PostgreSQL (`scripts/bench projections`).

Creates a fresh database, fills it with `ledger demo --orders N`, then
measures: the raw read rate of the events table (SELECT, in pages, as a
rebuild reads it); a blue/green rebuild of each read model and of all of
them at once, in events/s and as a ratio of the raw rate; live lag p50/p99
(command committed -> applied to the board by a `ledger project` process)
at a steady 300 commands/s; and `GET /board?as_of=` on that data set.
Writes bench/projections.json; drops the database afterwards.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "projections.json"))
    args = parser.parse_args()
    if args.quick:
        args.lag_seconds = min(args.lag_seconds, 8.0)
    return args


def _run(url: str, orders: int, lag_seconds: float) -> dict[str, Any]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run([LEDGER, "demo", "--orders", str(orders)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    demo_seconds = time.perf_counter() - started
    settings = Settings(database_url=url, tokens={TOKEN: "admin"}, run_projections=False)
    ledger = Ledger(settings)
    worker = Worker(ledger)
    try:
        head = worker.source.head()
        results: dict[str, Any] = {"events": head, "demo_seconds": round(demo_seconds, 1)}
        results["raw_select_events_per_s"] = _raw_rate(ledger, head)
        results["rebuild"] = _rebuilds(worker, head, results["raw_select_events_per_s"])
        results["board_as_of"] = _as_of(ledger)
        results["live_lag"] = _live_lag(ledger, worker, env, lag_seconds)
    finally:
        ledger.close()
    return results


def _raw_rate(ledger: Ledger, head: int) -> float:
    """The events table read in pages of 2000, as a rebuild reads it (no decoding)."""
    started, position = time.perf_counter(), 0
    while position < head:
        notes = ledger.recorder.select_notifications(position, 2000, inclusive_of_start=False)
        if not notes:
            break
        position = notes[-1].id
    return round(head / (time.perf_counter() - started))


def _rebuilds(worker: Worker, head: int, raw: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in READ_MODELS:
        entry = worker.rebuild(name)
        rate = head / entry["seconds"]
        figures[name] = {"seconds": entry["seconds"], "events_per_s": round(rate),
                         "ratio_to_raw": round(rate / raw, 3)}  # fmt: skip
    started = time.perf_counter()
    threads = [threading.Thread(target=worker.rebuild, args=(n,)) for n in READ_MODELS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    figures["all_at_once"] = {"seconds": round(seconds, 3), "events_per_s": round(head / seconds),
                              "ratio_to_raw": round(head / seconds / raw, 3)}  # fmt: skip
    return figures


def _as_of(ledger: Ledger) -> dict[str, Any]:
    app = create_app(ledger=ledger)
    with TestClient(app) as client:
        times = []
        for moment in ("2025-06-30T18:00:00", datetime.now(UTC).isoformat()):
            started = time.perf_counter()
            response = client.get("/board", params={"as_of": moment},
                                  headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            assert response.status_code == 200, response.text
            times.append(round(time.perf_counter() - started, 3))
    return {"mid_year_seconds": times[0], "now_seconds": times[1]}


def _live_lag(ledger: Ledger, worker: Worker, env: dict[str, str], seconds: float) -> Any:
    """Commands at 300/s; lag = commit -> the board's tracked position covers it."""
    project = subprocess.Popen([LEDGER, "project", "--only", "board", "--no-schedule"],
                               env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    view, name = worker.views["board"], ledger.name
    try:
        while (view.max_tracking_id(name) or 0) < worker.source.head():
            time.sleep(0.05)
        pending: list[tuple[int, float]] = []
        lags: list[float] = []
        done = threading.Event()
        lock = threading.Lock()

        def watch() -> None:
            while not done.is_set() or pending:
                reached = view.max_tracking_id(name) or 0
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
        project.terminate()
        project.wait(timeout=30)
    cuts = statistics.quantiles([lag * 1000 for lag in lags], n=100)
    return {"commands": len(lags), "rate_per_s": 300, "p50_ms": round(cuts[49], 1),
            "p99_ms": round(cuts[98], 1)}  # fmt: skip


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


def _report(results: dict[str, Any], orders: int, out: str) -> None:
    raw = results["raw_select_events_per_s"]
    print(f"demo: {orders} orders, {results['events']} events ({results['demo_seconds']} s)")
    print(f"raw SELECT of the events table: {raw:,} events/s")
    for name, r in results["rebuild"].items():
        print(f"rebuild {name:<12} {r['events_per_s']:>9,} events/s  "
              f"({r['seconds']} s, {r['ratio_to_raw']} of raw)")  # fmt: skip
    lag = results["live_lag"]
    print(f"live lag at 300 commands/s: p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms "
          f"({lag['commands']} commands)")  # fmt: skip
    as_of = results["board_as_of"]
    print(f"GET /board?as_of=: {as_of['mid_year_seconds']} s (mid-2025), "
          f"{as_of['now_seconds']} s (now)")  # fmt: skip
    document = {"measured_at": datetime.now(UTC).isoformat(), "orders": orders, **results}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
