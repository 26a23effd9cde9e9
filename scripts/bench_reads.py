"""Benchmark reading one order: 1,000 events against 10, on PostgreSQL and SQLite.

For each store (a fresh PostgreSQL database, dropped afterwards, and a
temporary SQLite file) the script writes two orders through the
application's commands: one with 10 events and one with 1,000 (production
progress, promised dates, holds and releases, complaints and quality issues
filed and resolved, so its state grows as a real long history does). Then
it times, alternating between the two orders so that both see the same
machine:

- ``get``: ``Ledger.get_order`` (what every read and command starts with):
  the aggregate cache, fast-forwarded with one query for newer events;
- ``asgi``: ``GET /orders/{id}`` through the FastAPI app in process, called
  as uvicorn calls it (httpx's ASGI transport on one event loop): routing,
  auth, the threadpool hop of a sync route, the readout and its JSON;
- ``testclient``: the same through Starlette's TestClient, which adds two
  thread hops per request (shown for comparison with the API tests);
- ``uncached``: the order rebuilt from its latest snapshot and the events
  after it, as a process that has not read it yet (or just started) does.

Prints wall-clock median and p99 per figure, the median CPU time of the
process per read (steadier on a busy machine), and the ratios of the
1,000-event order to the 10-event one, with ``GET /health`` on the same path as the floor of the
framework, and writes bench/reads.json.

    .venv/bin/python scripts/bench_reads.py [--reads 2000] [--backends postgres,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms
from ledger.api.app import create_app
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-reads-" + uuid.uuid4().hex
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
TARGET_MS = 2.0  # GET /orders/{id} with 1,000 events, median, in process


def main() -> int:
    args = _arguments()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "reads": args.reads,
        "backends": {},
    }
    for backend in args.backends.split(","):
        with _store(backend, args.pg_admin) as url:
            results["backends"][backend] = _bench(url, args.reads)
    _print(results)
    out = ROOT / "bench" / "reads.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=2000, help="timed reads per figure")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


@contextmanager
def _store(backend: str, pg_admin: str) -> Iterator[str]:
    """A URL for an empty store, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/reads.db"
        return
    if backend != "postgres":
        raise SystemExit(f"unknown backend {backend!r}")
    name = f"ledger_bench_reads_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(name)))
        try:
            yield f"{pg_admin.rsplit('/', 1)[0]}/{name}"
        finally:
            drop = sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def _bench(url: str, reads: int) -> dict[str, Any]:
    settings = Settings(database_url=url, tokens={TOKEN: "sales"}, run_projections=False)
    clock = SimulatedClock(START, tick=timedelta(seconds=7))
    ledger = Ledger(settings, clock)
    try:
        short = _order_with(ledger, 10)
        long = _order_with(ledger, 1000)
        app = create_app(ledger=ledger)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with TestClient(app) as client:  # runs the app's lifespan

            def testclient(order_id: UUID) -> None:
                response = client.get(f"/orders/{order_id}", headers=headers)
                assert response.status_code == 200, response.text

            def get(order_id: UUID) -> None:
                ledger.get_order(order_id)

            def uncached(order_id: UUID) -> None:
                # A version given bypasses the cache: latest snapshot + events after it.
                ledger.repository.get(order_id, version=versions[order_id])

            versions = {short: 10, long: 1000}
            figures: dict[str, Any] = {"get": _compare(get, short, long, reads)}
            figures["asgi"] = asyncio.run(_compare_asgi(app, headers, short, long, reads))
            figures["testclient"] = _compare(testclient, short, long, reads)
            figures["uncached"] = _compare(uncached, short, long, reads)
    finally:
        ledger.close()
    return figures


async def _compare_asgi(
    app: Any, headers: dict[str, str], short: UUID, long: UUID, reads: int
) -> dict[str, Any]:
    """``_compare`` through the ASGI app on one running event loop, as under
    uvicorn (the threadpool's workers stay up between requests); and
    ``GET /health`` the same way, the floor of the framework."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:

        async def read(order_id: UUID | None) -> tuple[float, float]:
            path = f"/orders/{order_id}" if order_id else "/health"
            started, cpu = time.perf_counter(), time.process_time()
            response = await client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
            assert response.status_code == 200, response.text
            return elapsed

        for _ in range(min(50, reads)):
            for order_id in (short, long, None):
                await read(order_id)
        times: dict[UUID | None, list[tuple[float, float]]] = {short: [], long: [], None: []}
        for _ in range(reads):
            for order_id in (short, long, None):
                times[order_id].append(await read(order_id))
    ten, thousand = _summary(times[short]), _summary(times[long])
    return {
        "events_10": ten,
        "events_1000": thousand,
        "ratio_median": round(thousand["median_ms"] / ten["median_ms"], 2),
        "ratio_cpu": round(thousand["cpu_median_ms"] / ten["cpu_median_ms"], 2),
        "health": _summary(times[None]),
    }


def _compare(read: Callable[[UUID], Any], short: UUID, long: UUID, reads: int) -> dict[str, Any]:
    """Time ``read`` on both orders, interleaved; milliseconds."""
    for _ in range(min(50, reads)):  # warm up: caches, prepared statements
        read(short)
        read(long)
    times: dict[UUID, list[tuple[float, float]]] = {short: [], long: []}
    for _ in range(reads):
        for order_id in (short, long):
            started, cpu = time.perf_counter(), time.process_time()
            read(order_id)
            wall = (time.perf_counter() - started) * 1000
            times[order_id].append((wall, (time.process_time() - cpu) * 1000))
    ten, thousand = _summary(times[short]), _summary(times[long])
    return {
        "events_10": ten,
        "events_1000": thousand,
        "ratio_median": round(thousand["median_ms"] / ten["median_ms"], 2),
        "ratio_cpu": round(thousand["cpu_median_ms"] / ten["cpu_median_ms"], 2),
    }


def _summary(ms: list[tuple[float, float]]) -> dict[str, float]:
    """Median and p99 of the wall-clock times, and the median CPU time of the
    whole process (all its threads) per read, which other load on the
    machine disturbs much less than the wall clock."""
    wall = sorted(w for w, _ in ms)
    return {
        "median_ms": round(statistics.median(wall), 3),
        "p99_ms": round(wall[int(len(wall) * 0.99) - 1], 3),
        "cpu_median_ms": round(statistics.median(c for _, c in ms), 3),
    }


def _order_with(ledger: Ledger, events: int) -> UUID:
    """An order written through the application's commands, ``events`` long."""
    ctx = Ctx(actor="bench")
    order = ledger.receive(
        ctx,
        channel="email",
        customer=Customer("華東五金有限公司", "021-5555-0101", "buyer@example.com", "上海"),
        lines=[
            Line("A-100", "不鏽鋼保溫杯", 300, Decimal("100.00")),
            Line("B-200", "杯套", 200, Decimal("50.50")),
        ],
        delivery=Delivery("上海市浦東新區世紀大道100號", "王小明", "021-5555-0101", "road"),
    ).order
    order_id = order.id
    checks = {"customer": True, "product": True, "delivery": True}
    ledger.verify(ctx, order_id, checks=checks)
    ledger.confirm(
        ctx,
        order_id,
        promised_date=date(2026, 3, 1),
        payment_terms=PaymentTerms("bank_transfer", 30, Decimal(20)),
    )
    commands = _history(ledger, ctx, order_id)
    version = 3
    while version < events:
        version = next(commands)
    assert version == events, version
    return order_id


def _history(ledger: Ledger, ctx: Ctx, order_id: UUID) -> Iterator[int]:
    """Commands of a long-running order, each yielding the order's new version.

    Mostly what updates the state in place (production progress, stock
    reserved and released, holds); every fifth round also what adds to it (a
    new promised date, a complaint and a quality issue, each resolved), so
    the order of 1,000 events carries some 20 of each.
    """
    n = 0
    while True:
        n += 1
        for step in range(4):
            percent = min(99, n // 2)
            stage = f"batch {n}, step {step + 1}"
            yield ledger.progress_production(ctx, order_id, stage=stage, percent=percent).version
        for move in (ledger.allocate_stock, ledger.release_stock):
            yield move(ctx, order_id, sku="A-100", quantity=10, warehouse="Kunshan").version
        yield ledger.hold(ctx, order_id, reason=f"credit check {n}").version
        yield ledger.release(ctx, order_id, reason="credit check passed").version
        if n % 5:
            continue
        promised = date(2026, 3, 1) + timedelta(days=n)
        yield ledger.promise_date(
            ctx, order_id, promised_date=promised, reason="late parts"
        ).version
        complaint = f"CP-{n}"
        yield ledger.file_complaint(
            ctx,
            order_id,
            complaint_id=complaint,
            channel="phone",
            category="delay",
            description=f"asked about the delay, call {n}",
        ).version
        yield ledger.resolve_complaint(
            ctx, order_id, complaint_id=complaint, resolution="new date given"
        ).version
        issue = f"QI-{n}"
        yield ledger.raise_quality_issue(
            ctx,
            order_id,
            issue_id=issue,
            severity="minor",
            category="finish",
            description=f"scratches in lot {n}",
            sku="A-100",
        ).version
        yield ledger.resolve_quality_issue(
            ctx, order_id, issue_id=issue, resolution="repair"
        ).version


def _print(results: dict[str, Any]) -> None:
    print("milliseconds per read: wall-clock median and p99, and the process's CPU time median")
    print(f"{'store':<10}{'figure':<12}{'10 events: median':>18}{'p99':>8}{'cpu':>8}"
          f"{'1000 events: median':>21}{'p99':>8}{'cpu':>8}{'ratio':>7}{'cpu':>7}")  # fmt: skip
    for backend, figures in results["backends"].items():
        for name, f in figures.items():
            ten, thousand = f["events_10"], f["events_1000"]
            print(
                f"{backend:<10}{name:<12}{_cells(ten):>34}{_cells(thousand):>37}"
                f"{f['ratio_median']:>6.2f}x{f['ratio_cpu']:>6.2f}x"
            )
        health = figures["asgi"]["health"]
        print(f"{backend:<10}{'health':<12}{_cells(health):>34}"
              "   (GET /health on the asgi path: the framework's floor)")  # fmt: skip
    print(f"target: GET /orders/{{id}} with 1,000 events <= {TARGET_MS} ms median in process")


def _cells(figure: dict[str, float]) -> str:
    return f"{figure['median_ms']:.3f}{figure['p99_ms']:8.3f}{figure['cpu_median_ms']:8.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
