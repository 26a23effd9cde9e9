"""Audit figures on PostgreSQL: verify, backup and restore in events/s beside the
raw reading rates of the events table, and the write cost of the hash chain.

    .venv/bin/python scripts/bench_audit.py --orders 20000
    .venv/bin/python scripts/bench.py --audit-orders 20000   # the same, after the HTTP phases
    .venv/bin/python scripts/bench_audit.py --reuse URL      # demo data already loaded

Loads ``ledger demo --orders N`` into a fresh database, then, ``--repeat``
times in turn (the machine is shared: each figure is read beside its
baselines of the same round, and medians are reported): two baselines — a
raw ``SELECT`` of every event through a server-side cursor (psycopg builds
one Python row per event) and a raw binary ``COPY ... TO STDOUT`` of the
same rows (counted, not parsed) — then ``audit verify``, ``backup`` and
``restore`` into a fresh schema (load only; the rebuild of the projections
is timed apart, in the last round, unless ``--no-rebuild``). The chain's
cost: the same commands written with and without the chain on two fresh
schemas, one order's lifecycle at a time in turn; ratio of times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms  # noqa: E402
from ledger.application import Ctx, Ledger  # noqa: E402
from ledger.audit.backup import backup  # noqa: E402
from ledger.audit.restore import load  # noqa: E402
from ledger.audit.service import verify_store  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from ledger.worker.restore import rebuild_projections  # noqa: E402

KEY = "bench-audit-key-0123456789"


def run(
    pg_admin: str,
    orders: int,
    write_rounds: int = 10,
    per_round: int = 100,
    repeat: int = 3,
    rebuild: bool = True,
) -> dict[str, Any]:
    """Every audit figure on a fresh database, dropped afterwards."""
    dbname = f"ledger_audit_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(dbname)))
    url = f"{pg_admin.rsplit('/', 1)[0]}/{dbname}"
    try:
        return run_on(url, orders, write_rounds, per_round, repeat, rebuild)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(sql.Identifier(dbname))
            )


def run_on(
    url: str,
    orders: int | None,
    write_rounds: int = 10,
    per_round: int = 100,
    repeat: int = 3,
    rebuild: bool = True,
) -> dict[str, Any]:
    """Every audit figure on the database at ``url``: filled with ``orders`` demo
    orders first, or, with ``None``, used as it is (demo data written with
    ``LEDGER_AUDIT_KEY`` set to ``KEY``; `scripts/bench` shares one data set).
    The schemas it makes for restores and the chain's cost are dropped after."""
    results = _store_figures(url, orders, repeat, rebuild)
    results["chain_write"] = _chain_cost(url, write_rounds, per_round)
    return results


def _settings(url: str, schema: str = "") -> Settings:
    return Settings(database_url=url + (f"?schema={schema}" if schema else ""), audit_key=KEY)


_CPU = [0.0]  # this process's CPU seconds (every thread) of the last ``_timed`` run


def _timed(run: Any) -> tuple[Any, float]:
    started, cpu = time.perf_counter(), time.process_time()
    value = run()
    _CPU[0] = time.process_time() - cpu
    return value, time.perf_counter() - started


def _store_figures(url: str, orders: int | None, repeat: int, rebuild: bool) -> dict[str, Any]:
    if orders is not None:
        env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_AUDIT_KEY": KEY}
        demo = [sys.executable, "-m", "ledger.cli", "demo", "--orders", str(orders)]
        subprocess.run(demo, env=env, check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    ledger = Ledger(_settings(url))
    rounds: list[dict[str, float]] = []
    rebuild_s = 0.0
    try:
        for i in range(repeat):
            cpu: dict[str, float] = {}
            events, select_s = _timed(lambda: _raw_select(url))
            cpu["raw_select"] = _CPU[0]
            copied, copy_s = _timed(lambda: _raw_copy(url))
            cpu["raw_copy"] = _CPU[0]
            report, verify_s = _timed(lambda: verify_store(ledger))
            cpu["verify"] = _CPU[0]
            assert report.ok and report.events == events == copied, report.as_json()
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "bench.backup"
                _, backup_s = _timed(lambda path=path: backup(ledger, path))
                cpu["backup"] = _CPU[0]
                size = path.stat().st_size
                last = rebuild and i == repeat - 1
                restore_s, rebuilt_s = _restore(url, path, f"restored_{i}", last)
                if not last:  # the rebuild's CPU would count too
                    cpu["restore"] = _CPU[0]
            rebuild_s = rebuilt_s or rebuild_s
            rounds.append(
                {
                    "raw_select": events / select_s,
                    "raw_copy": events / copy_s,
                    "verify": events / verify_s,
                    "backup": events / backup_s,
                    "restore": events / restore_s,
                }
                | {f"{name}_client_cpu": events / seconds for name, seconds in cpu.items()}
            )
            print(f"bench_audit: round {i + 1}: {json.dumps(rounds[-1])}", file=sys.stderr)
    finally:
        ledger.close()

    def median(name: str) -> int:
        return round(statistics.median(r[name] for r in rounds if name in r))

    def ratio(name: str, base: str) -> float:
        return round(statistics.median(r[name] / r[base] for r in rounds), 2)

    figures: dict[str, Any] = {
        "events": events,
        "orders": report.orders,
        "rounds": len(rounds),
        "raw_select_events_per_s": median("raw_select"),
        "raw_copy_events_per_s": median("raw_copy"),
        "verify_events_per_s": median("verify"),
        "backup_events_per_s": median("backup"),
        "backup_bytes": size,
        "restore_events_per_s": median("restore"),
        "ratios_to_raw_select": {
            n: ratio(n, "raw_select") for n in ("verify", "backup", "restore")
        },
        "ratios_to_raw_copy": {n: ratio(n, "raw_copy") for n in ("verify", "backup", "restore")},
        # Events per second of this process's CPU alone: steadier than wall time on a
        # busy machine, and the part the audit code itself decides.
        "client_cpu_events_per_s": {
            n: median(f"{n}_client_cpu")
            for n in ("raw_select", "raw_copy", "verify", "backup", "restore")
            if any(f"{n}_client_cpu" in r for r in rounds)
        },
        "per_round": [{k: round(v) for k, v in r.items()} for r in rounds],
    }
    if rebuild_s:
        figures["rebuild_projections_s"] = round(rebuild_s, 1)
        figures["restore_with_rebuild_events_per_s"] = round(
            events / (events / rounds[-1]["restore"] + rebuild_s)
        )
    return figures


EVENTS_IN_ORDER = (
    "SELECT originator_id, originator_version, topic, state FROM ledger_events "
    "ORDER BY originator_id, originator_version"
)


def _raw_select(url: str) -> int:
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="raw") as cur:
        cur.itersize = 5000
        cur.execute(EVENTS_IN_ORDER)
        for _ in cur:
            count += 1
    return count


def _raw_copy(url: str) -> int:
    """Rows of a binary COPY, counted as the driver hands them over (one per row)."""
    count = -1  # the last block is the trailer
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY ({EVENTS_IN_ORDER}) TO STDOUT (FORMAT BINARY)") as copy,
    ):
        for _ in copy:
            count += 1
    return count


def _restore(url: str, path: Path, schema: str, rebuild: bool) -> tuple[float, float]:
    """Seconds to load, and seconds to rebuild the projections (0 if not), into a fresh
    schema: the two halves of ``ledger restore`` (``worker.restore.restore``), timed apart."""
    target = Ledger(_settings(url, schema))
    rebuilt = 0.0
    try:
        _, loaded = _timed(lambda: load(target, path))
        if rebuild:
            try:
                _, rebuilt = _timed(lambda: rebuild_projections(target))
            except Exception as e:  # the load is measured already; say why the rebuild is not
                print(f"bench_audit: rebuild failed: {e!r}", file=sys.stderr)
    finally:
        target.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return loaded, rebuilt


CUSTOMER = Customer("華東五金有限公司", "021-5555-0101", "buy@hd.cn", "上海市")
DELIVERY = Delivery("上海市浦東新區世紀大道100號", "王小明", "13900139000")
PROMISED = date(2026, 12, 1)
LINES = [Line("A-100", "不鏽鋼保溫杯", 3, Decimal("100.00"))]


def _commands(ledger: Ledger, count: int) -> None:
    """``count`` orders, each received, verified, confirmed, held and released."""
    for _ in range(count):
        order = ledger.receive(
            Ctx(), channel="email", customer=CUSTOMER, lines=LINES, delivery=DELIVERY
        ).order.id
        checks = {"customer": True, "product": True, "delivery": True}
        ledger.verify(Ctx(), order, checks=checks)
        ledger.confirm(Ctx(), order, promised_date=PROMISED, payment_terms=PaymentTerms())
        ledger.hold(Ctx(), order, reason="r")
        ledger.release(Ctx(), order, reason="r")


def _chain_cost(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    """The same commands with and without the chain, interleaved finely.

    Each round runs ``per_round`` order lifecycles on each store, one
    lifecycle at a time in turn (which store goes first alternates), and
    sums each store's times: a burst of load elsewhere falls on both alike.
    The ratio is the median of the rounds' ratios; the ratio of the totals
    is kept beside it."""
    with_chain = Ledger(_settings(url, "with_chain"))
    without = Ledger(_settings(url, "without_chain"))
    without.recorder.chain_enabled = False  # type: ignore[attr-defined]
    pairs: list[dict[str, float]] = []
    try:
        _commands(with_chain, 20)  # warm up both: connections, keys, caches
        _commands(without, 20)
        stores = [("with", with_chain), ("without", without)]
        for _ in range(rounds):
            pair = {"with": 0.0, "without": 0.0}
            for i in range(per_round):
                for name, ledger in stores if i % 2 == 0 else reversed(stores):
                    started = time.perf_counter()
                    _commands(ledger, 1)
                    pair[name] += time.perf_counter() - started
            pairs.append(pair)
    finally:
        with_chain.close()
        without.close()
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in ("with_chain", "without_chain"):
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
    commands = rounds * per_round * 5
    total = {name: sum(pair[name] for pair in pairs) for name in ("with", "without")}
    return {
        "commands": commands,
        "with_chain_commands_per_s": round(commands / total["with"]),
        "without_chain_commands_per_s": round(commands / total["without"]),
        "ratio": round(statistics.median(p["with"] / p["without"] for p in pairs), 3),
        "ratio_total": round(total["with"] / total["without"], 3),
        "round_ratios": [round(p["with"] / p["without"], 3) for p in pairs],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the read figures")
    parser.add_argument(
        "--no-rebuild", action="store_true", help="skip timing the projections' rebuild"
    )
    parser.add_argument(
        "--reuse", metavar="URL", help="a database already holding demo data (no --orders)"
    )
    args = parser.parse_args()
    measure = (args.rounds, args.per_round, args.repeat, not args.no_rebuild)
    if args.reuse:
        results = run_on(args.reuse, None, *measure)
    else:
        results = run(args.pg_admin, args.orders, *measure)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "audit_results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
