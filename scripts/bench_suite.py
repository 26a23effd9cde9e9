"""The whole benchmark suite (`scripts/bench`): every figure beside its baseline, one table.

Runs the parts that the other bench scripts measure one at a time, in one go,
and prints ONE table: each figure, the baseline measured in the same run
(raw psycopg inserts, bare GET /health, the 10-event order, the raw SELECT
or COPY of the events table, the chain left out), their ratio, and the
target of the issue it comes from. Writes everything to bench/results.json
(one key per part, and the machine: CPUs, load average at start and end).

1. store, in process (scripts/bench.py): raw inserts, the library's
   recorder, the ledger's append with 1 and 16 callers, with and without
   group commit; on a fresh database;
2. one demo data set of ``--orders`` orders (default 20,000) on a fresh
   PostgreSQL database, shared by the next four parts;
3. audit (scripts/bench_audit.py): verify, backup, restore beside raw
   SELECT and raw COPY; the hash chain's write cost (its own schemas);
4. read models (scripts/bench_projections.py): each rebuilt alone and all
   together beside a raw SELECT (of the first 100,000 events) read just
   before; GET /board?as_of=; live lag at 300 commands/s for 10 s (adds
   orders to the data set);
5. change feed and webhooks (scripts/bench_integration.py): the whole log
   read through GET /events by one client; webhook delivery lag at 300
   commands/s to a receiver on loopback (adds orders to the data set);
6. HTTP (scripts/bench.py's load): `ledger serve --workers 2` on the demo
   database, then `ledger serve` on a fresh SQLite file: GET /health, then
   POST /orders and POST /orders/{id}/verify from 16 clients; and the
   server's peak resident memory (VmHWM of the server process and of each
   of its workers, from /proc, at the end of the load) beside its resident
   memory once started;
7. reads (scripts/bench_reads.py): GET /orders/{id} of a 1,000-event order
   beside a 10-event one and GET /health, in process.

``--quick`` (under 2 minutes): 2,000 orders and fewer requests, reads on
PostgreSQL only. The full suite takes under 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
import bench_audit  # noqa: E402
import bench_integration  # noqa: E402
import bench_projections  # noqa: E402
import bench_reads  # noqa: E402

LEDGER = str(Path(sys.executable).with_name("ledger"))


def main() -> int:
    args = _arguments()
    if args.table:
        document = json.loads(Path(args.table).read_text())
        _print(_rows(document), document, args.markdown)
        return 0
    started, started_at = time.perf_counter(), datetime.now(UTC)
    load_start = os.getloadavg()
    # One audit key for everything that writes or reads the shared data set
    # (the demo, the bench's own Ledgers, the servers).
    os.environ["LEDGER_AUDIT_KEY"] = bench_audit.KEY
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}

    @contextmanager
    def part(name: str) -> Iterator[None]:
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - began, 1)
        print(f"   ({timings[name]} s)", flush=True)

    with part("store"):
        results["store"] = _retried(lambda: _store(args))
    with bench._database(args.pg_admin) as url:
        with part("demo"):
            results["demo"] = _demo(url, args.orders)
        with part("audit"):
            audit = (args.audit_rounds, args.audit_per_round, args.audit_repeat, False)
            results["audit"] = _retried(lambda: bench_audit.run_on(url, None, *audit))
        with part("projections"):
            # The baseline before each rebuild: a raw read of the first 100,000
            # events (of 380,000 for 20,000 orders) gives the same rate in a
            # quarter of the time.
            bench_projections.RAW_SAMPLE = 100_000
            results["projections"] = _retried(
                lambda: bench_projections._run(url, None, args.lag_seconds)
            )
            results["projections"]["demo_seconds"] = results["demo"]["seconds"]
        with part("integration"):
            results["integration"] = _retried(
                lambda: bench_integration.run_on(url, args.lag_seconds)
            )
        with part("http_postgres"):
            _retried(lambda: _catch_up(url))
            results["http_postgres"] = _retried(lambda: _http(url, args.workers, args))
    with part("http_sqlite"), tempfile.TemporaryDirectory() as folder:
        results["http_sqlite"] = _retried(lambda: _http(f"sqlite:///{folder}/bench.db", 1, args))
    with part("reads"):
        results["reads"] = {"reads": args.reads, "backends": {}}
        for backend in args.backends.split(","):
            results["reads"]["backends"][backend] = _retried(partial(_reads, backend, args))
    rows = _rows(results)
    document = {
        "measured_at": started_at.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
        "config": {
            "quick": args.quick,
            "orders": args.orders,
            "clients": args.clients,
            "workers": args.workers,
            "requests_per_phase": args.requests,
            "appends": args.appends,
            "reads": args.reads,
            "lag_seconds": args.lag_seconds,
            "audit_repeat": args.audit_repeat,
        },
        "seconds": {**timings, "total": round(time.perf_counter() - started, 1)},
        "table": rows,
        **results,
    }
    _print(rows, document)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (under 2 minutes)")
    parser.add_argument("--orders", type=int, help="demo orders (default 20000; --quick 2000)")
    parser.add_argument("--requests", type=int, help="requests per HTTP phase (default 3000)")
    parser.add_argument("--appends", type=int, help="saves per store figure (default 4000)")
    parser.add_argument("--reads", type=int, help="reads per order per read figure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--table", metavar="FILE", help="only print the table of a results.json")
    parser.add_argument("--markdown", action="store_true", help="with --table: as Markdown")
    args = parser.parse_args()
    quick = args.quick
    defaults = {
        "orders": 2000 if quick else 20000,
        "requests": 1000 if quick else 3000,
        "appends": 1500 if quick else 4000,
        "reads": 200 if quick else 500,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.backends = "postgres" if quick else "postgres,sqlite"
    args.lag_seconds = 6.0 if quick else 10.0
    args.audit_repeat, args.audit_rounds, args.audit_per_round = (
        (1, 2, 30) if quick else (3, 6, 100)
    )
    return args


T = TypeVar("T")


def _retried(measure: Callable[[], T], attempts: int = 3) -> T:
    """``measure()``, again after a pause when PostgreSQL refused or dropped a
    connection (other work on the shared machine can use up its connection
    slots, or restart it). Each part cleans up after itself, so it can run
    again on the shared data set."""
    from eventsourcing.persistence import OperationalError

    for attempt in range(1, attempts + 1):
        try:
            return measure()
        except (psycopg.OperationalError, OperationalError) as error:
            if attempt == attempts:
                raise
            print(f"   (PostgreSQL: {error}; again in 10 s)", file=sys.stderr, flush=True)
            time.sleep(10)
    raise AssertionError("unreachable")


def _store(args: argparse.Namespace) -> dict[str, Any]:
    with bench._database(args.pg_admin) as url:
        figures: dict[str, Any] = bench._store_figures(url, args)
        return figures


def _reads(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with bench_reads._store(backend, args.pg_admin) as url:
        return bench_reads._bench(url, args.reads)


def _demo(url: str, orders: int) -> dict[str, Any]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    started = time.perf_counter()
    # Its progress bar (stderr) is shown only if it fails.
    done = subprocess.run([LEDGER, "demo", "--orders", str(orders)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    if done.returncode:
        sys.stderr.buffer.write(done.stderr[-4000:])
        raise SystemExit(f"ledger demo exited with {done.returncode}")
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    events = row[0] if row else 0
    print(f"   {orders} orders, {events} events in {seconds:.1f} s", flush=True)
    return {"orders": orders, "events": events, "seconds": round(seconds, 1)}


def _catch_up(url: str) -> None:
    """Bring every read model up to the log's head (the lag phase wrote orders
    only the board followed), so that the server's runners start idle."""
    from ledger.application import Ledger
    from ledger.projections.registry import READ_MODELS
    from ledger.settings import Settings
    from ledger.worker import Worker

    ledger = Ledger(Settings(database_url=url, run_projections=False))
    worker = Worker(ledger).start(schedule=False)
    try:
        head = worker.source.head()
        for name in READ_MODELS:
            worker.wait(name, head, 120)
    finally:
        worker.stop()
        ledger.close()


# -- HTTP and the server's memory ----------------------------------------------


def _http(database_url: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port = bench._free_port()
    server = bench._start(database_url, port, workers)
    try:
        bench._wait_healthy(f"http://127.0.0.1:{port}", server)
        idle = _memory(server.pid)
        figures = bench._run(port, args.requests, args.clients, server.pid)
        figures["memory"] = {"started": idle, "after_load": _memory(server.pid)}
        return figures
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _memory(pid: int) -> dict[str, Any]:
    """Resident memory of ``pid`` and its descendants, from /proc/<pid>/status:
    VmRSS now and VmHWM (the peak so far) of each, in MB, and their sums (the
    sum of peaks bounds the peak of the whole: they need not coincide)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree = [pid]
    for child in sorted(parents):
        ancestor = child
        while ancestor not in (pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == pid and child != pid:
            tree.append(child)
    processes: list[dict[str, Any]] = []
    for member in tree:
        try:
            fields = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{member}/status").read_text().splitlines()
            )
            cmdline = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        processes.append({
            "pid": member,
            "command": cmdline.decode(errors="replace").strip()[-60:],
            "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "peak_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
        })  # fmt: skip
    return {
        "rss_mb": round(sum(p["rss_mb"] for p in processes), 1),
        "peak_mb": round(sum(p["peak_mb"] for p in processes), 1),
        "largest_peak_mb": max((p["peak_mb"] for p in processes), default=0.0),
        "processes": processes,
    }


# -- the table -------------------------------------------------------------------


def _row(
    part: str,
    figure: str,
    value: float | None,
    unit: str,
    baseline: str = "",
    base: float | None = None,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> dict[str, Any]:
    ratio = round(value / base, 3) if value is not None and base else None
    return {"part": part, "figure": figure, "value": value, "unit": unit,
            "baseline": baseline, "baseline_value": base, "ratio": ratio,
            "target": target, "met": met, "note": note}  # fmt: skip


def _rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rows += _store_rows(results.get("store"))
    rows += _http_rows(results.get("http_postgres"), "HTTP PostgreSQL, 2 workers", postgres=True)
    rows += _http_rows(results.get("http_sqlite"), "HTTP SQLite, 1 worker", postgres=False)
    rows += _read_rows(results.get("reads"))
    rows += _projection_rows(results.get("projections"))
    rows += _audit_rows(results.get("audit"))
    rows += _integration_rows(results.get("integration"))
    return rows


def _store_rows(store: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not store:
        return []
    part, raw = "store, in process", store["raw_insert"]["per_s"]
    library = store["library_recorder"]["per_s"]
    app16 = store["app_append_16"]["per_s"]
    rows = [
        _row(part, "raw psycopg insert, 1 row/txn, 16 callers", raw, "/s", note="baseline"),
        _row(part, "library recorder, 16 callers", library, "/s", "raw insert", raw,
             note="the library's own recorder"),
        _row(part, "ledger append, 16 callers (group commit)", app16, "/s", "raw insert", raw,
             "≥ 1.0x raw", app16 >= raw),
        _row(part, "  the same / library recorder", app16, "/s", "library recorder", library,
             "≥ 4x library", app16 >= 4 * library),
        _row(part, "ledger append, 16 callers, no group commit",
             store["app_append_16_no_group_commit"]["per_s"], "/s", "raw insert", raw),
        _row(part, "ledger append, 1 caller", store["app_append_1"]["per_s"], "/s",
             "raw insert", raw),
    ]  # fmt: skip
    return rows


def _http_rows(http: dict[str, Any] | None, part: str, postgres: bool) -> list[dict[str, Any]]:
    if not http:
        return []
    health = http["health"]

    def lat(r: dict[str, Any]) -> str:
        return f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, server CPU {r.get('server_cpu_ms')} ms"

    rows = [_row(part, "GET /health (bare)", health["per_s"], "/s", note=lat(health))]
    for phase, label in (("create", "POST /orders"), ("verify", "POST /orders/{id}/verify")):
        r = http[phase]
        if postgres:
            target = "≥ 2,000/s, ≥ 0.5x /health, p99 ≤ 25 ms"
            met = r["per_s"] >= 2000 and r["per_s"] >= 0.5 * health["per_s"] and r["p99_ms"] <= 25
        else:
            target, met = "≥ 1,500/s", r["per_s"] >= 1500
        rows.append(
            _row(part, label, r["per_s"], "/s", "/health", health["per_s"], target, met, lat(r))
        )
    memory = http.get("memory")
    if memory:
        peak, idle = memory["after_load"]["peak_mb"], memory["started"]["rss_mb"]
        count = len(memory["after_load"]["processes"])
        after = memory["after_load"]
        peak, idle, count = after["peak_mb"], memory["started"]["rss_mb"], len(after["processes"])
        target, met = ("≤ 400 MB", peak <= 400) if postgres else ("", None)
        label = f"server peak RSS ({count} process{'es' if count > 1 else ''}, sum of VmHWM)"
        note = f"largest one process {after['largest_peak_mb']} MB"
        rows.append(_row(part, label, peak, "MB", "RSS once started", idle, target, met, note))
    return rows


def _read_rows(reads: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for backend, figures in (reads or {}).get("backends", {}).items():
        part = f"reads, {backend}, in process"
        asgi = figures["asgi"]
        ten, thousand, health = asgi["events_10"], asgi["events_1000"], asgi["health"]

        def note(r: dict[str, Any]) -> str:
            return f"p99 {r['p99_ms']} ms, CPU {r['cpu_median_ms']} ms"

        median = thousand["median_ms"]
        rows += [
            _row(part, "GET /health (same ASGI path)", health["median_ms"], "ms median",
                 note=note(health)),
            _row(part, "GET /orders/{id}, 10 events", ten["median_ms"], "ms median",
                 "/health", health["median_ms"], note=note(ten)),
            _row(part, "GET /orders/{id}, 1,000 events", median, "ms median", "10 events",
                 ten["median_ms"], "≤ 2 ms", median <= 2.0, note(thousand)),
        ]  # fmt: skip
    return rows


def _projection_rows(projections: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not projections:
        return []
    part = f"read models, {projections['events']:,} events"
    rows = [_row(part, "raw SELECT of the events table (median)",
                 projections["raw_select_events_per_s"], "events/s", note="baseline")]  # fmt: skip
    for name, r in projections["rebuild"].items():
        rate, base = r["events_per_s"], r["raw_select_events_per_s"]
        if name == "all":
            label, target, met = "rebuild all (one pass)", "≥ 15,000/s", rate >= 15000
        else:
            label, target, met = f"rebuild {name}", "≥ 40,000/s", rate >= 40000
        rows.append(_row(part, label, rate, "events/s", "raw SELECT before", base,
                         target, met, f"{r['seconds']} s"))  # fmt: skip
    as_of = projections["board_as_of"]
    rows.append(_row(part, "GET /board?as_of= middle of the period", as_of["middle_seconds"], "s",
                     "as_of now", as_of["now_seconds"], "≤ 3 s", as_of["middle_seconds"] <= 3,
                     f"{as_of['middle_cards']} cards"))  # fmt: skip
    lag = projections["live_lag"]
    rows.append(_row(part, "live lag p99 at 300 commands/s", lag["p99_ms"], "ms", "p50",
                     lag["p50_ms"], "≤ 250 ms", lag["p99_ms"] <= 250,
                     f"p90 {lag['p90_ms']} ms, max {lag['max_ms']} ms"))  # fmt: skip
    return rows


def _audit_rows(audit: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not audit:
        return []
    part = f"audit, {audit['events']:,} events"
    select, copy = audit["raw_select_events_per_s"], audit["raw_copy_events_per_s"]
    rows = [
        _row(part, "raw SELECT (server-side cursor)", select, "events/s", note="baseline"),
        _row(part, "raw binary COPY", copy, "events/s", "raw SELECT", select, note="baseline"),
    ]
    cpu = audit.get("client_cpu_events_per_s", {})
    for name, minimum in (("verify", 100000), ("backup", 100000), ("restore", 20000)):
        rate = audit[f"{name}_events_per_s"]
        note = f"{audit['ratios_to_raw_copy'][name]}x raw COPY"
        if name in cpu:
            note += f"; per client CPU second {cpu[name]:,}"
        rows.append(_row(part, f"audit {name}", rate, "events/s", "raw SELECT", select,
                         f"≥ {minimum:,}/s", rate >= minimum, note))  # fmt: skip
    chain = audit["chain_write"]
    ratio = chain["ratio"]
    rows.append(_row(part, "commands with the hash chain",
                     chain["with_chain_commands_per_s"], "/s", "without the chain",
                     chain["without_chain_commands_per_s"], "time ≤ 1.10x", ratio <= 1.10,
                     f"time ratio {ratio}"))  # fmt: skip
    return rows


def _integration_rows(integration: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not integration:
        return []
    feed, lag = integration["feed"], integration["webhook_lag"]
    part = f"change feed and webhooks, {feed['events']:,} events"
    rate = feed["events_per_s"]
    return [
        _row(part, f"GET /events, pages of {feed['page']}, one reader", rate, "events/s",
             "raw SELECT", feed["raw_select_events_per_s"], "≥ 50,000/s", rate >= 50000,
             f"server CPU {feed['server_cpu_us_per_event']} µs/event"),
        _row(part, "webhook delivery lag p99 at 300 commands/s", lag["p99_ms"], "ms", "p50",
             lag["p50_ms"], "≤ 1,000 ms", lag["p99_ms"] <= 1000,
             f"p90 {lag['p90_ms']} ms, max {lag['max_ms']} ms, {lag['unverified']} unverified"),
    ]  # fmt: skip


def _print(rows: list[dict[str, Any]], document: dict[str, Any], markdown: bool = False) -> None:
    machine = document["machine"]
    print()
    print(f"ledger benchmark, {document['measured_at']}, {machine['cpus']} CPUs, load average "
          f"{machine['load_average_start'][0]} at start, {machine['load_average_end'][0]} at end, "
          f"{document['seconds']['total']} s")  # fmt: skip
    if markdown:
        print("\n| figure | value | baseline (same run) | ratio | target | met |")
        print("| --- | ---: | ---: | ---: | --- | --- |")
    part = ""
    for row in rows:
        value = _number(row["value"], row["unit"])
        base = (f"{row['baseline']} {_number(row['baseline_value'], '')}".strip()
                if row["baseline"] else "")  # fmt: skip
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        met = {True: "yes", False: "no", None: ""}[row["met"]]
        note = row["note"] if row["note"] != "baseline" else ""
        if markdown:
            if row["part"] != part:
                part = row["part"]
                print(f"| **{part}** | | | | | |")
            figure = row["figure"].strip() + (f" ({note})" if note else "")
            print(f"| {figure} | {value} | {base} | {ratio} | {row['target']} | {met} |")
            continue
        if row["part"] != part:
            part = row["part"]
            print(f"\n{part}")
            print(f"{'figure':<44} {'value':>16} {'baseline (same run)':>30} {'ratio':>6}  "
                  f"{'target':<38} met")  # fmt: skip
        print(f"{row['figure']:<44} {value:>16} {base:>30} {ratio:>6}  "
              f"{row['target']:<38} {met.upper() if met == 'no' else met}")  # fmt: skip
        if note:
            print(f"{'':<46}{note}")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    shown = f"{value:,.0f}" if value >= 100 else f"{value:g}"
    return f"{shown} {unit}".strip()


if __name__ == "__main__":
    sys.exit(main())
