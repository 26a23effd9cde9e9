"""The write-path benchmark: the store in process, then `ledger serve` over loopback.

Every figure is measured beside its baseline in the same run, on a fresh
PostgreSQL database (dropped afterwards), and printed as a ratio:

- store, in process, 16 concurrent callers unless said otherwise:
  raw psycopg inserts of one event-sized row per transaction (the baseline),
  the eventsourcing library's default PostgreSQL recorder, and the ledger
  application's append (``Ledger.save`` of new orders) with 1 and 16 callers,
  with group commit and without;
- HTTP on PostgreSQL (`ledger serve --workers 2`): bare GET /health (the
  framework's ceiling), POST /orders and a follow-up command
  (POST /orders/{id}/verify) on each created order;
- HTTP on embedded SQLite (`ledger serve`, one worker): the same phases.

The HTTP load comes from 16 threads, each with one keep-alive connection on
a raw socket and pre-built requests: a much cheaper client than an HTTP
library, so the load generator (which shares the cores with the server) is
not what is measured. Prints one table; writes bench/results.json.
`--quick` runs fewer requests (well under two minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-" + uuid.uuid4().hex
RECEIPT = {
    "channel": "email",
    "customer": {"name": "華東五金有限公司", "phone": "021-5555-0101"},
    "lines": [
        {"sku": "A-100", "name": "不鏽鋼保溫杯", "quantity": 3, "unit_price": "100.00"},
        {"sku": "B-200", "name": "杯套", "quantity": 2, "unit_price": "50.50"},
    ],
    "delivery": {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"},
}
VERIFY = {"checks": {"customer": True, "product": True, "delivery": True}}

Call = Callable[["_Connection", int], tuple[int, bytes]]


def main() -> int:
    args = _arguments()
    if args.quick:
        args.requests = min(args.requests, 1500)
        args.appends = min(args.appends, 1500)
    results: dict[str, Any] = {}
    with _database(args.pg_admin) as url:
        if not args.skip_store:
            results["store"] = _store_figures(url, args)
        if not args.skip_http:
            results["http_postgres"] = _http_figures(url, args.workers, args)
    if not args.skip_http:
        with tempfile.TemporaryDirectory() as tmp:
            results["http_sqlite"] = _http_figures(f"sqlite:///{tmp}/bench.db", 1, args)
    _report(results, args)
    _audit_section(args)
    return 0


@contextmanager
def _database(pg_admin: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    dbname = f"ledger_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(dbname)))
    try:
        yield f"{pg_admin.rsplit('/', 1)[0]}/{dbname}"
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(dbname)))


# -- the store, in process ---------------------------------------------------


def _timed_calls(count: int, callers: int, call: Callable[[int], None]) -> dict[str, Any]:
    """``count`` calls spread over ``callers`` threads: calls/s, p50, p99 (ms)."""

    def worker(offset: int) -> list[float]:
        latencies = []
        for i in range(offset, count, callers):
            started = time.perf_counter()
            call(i)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        latencies = [ms for part in pool.map(worker, range(callers)) for ms in part]
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "count": count,
        "callers": callers,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
    }


def _store_figures(url: str, args: argparse.Namespace) -> dict[str, Any]:
    count, callers = args.appends, args.clients
    state = os.urandom(600)  # about the size of a stored OrderReceived
    figures = {"raw_insert": _raw_inserts(url, count, callers, state)}
    figures["library_recorder"] = _library_appends(url, count, callers, state)
    figures.update(_application_appends(url, count, callers))
    return figures


def _raw_inserts(url: str, count: int, callers: int, state: bytes) -> dict[str, Any]:
    """The ceiling: one event-sized row per transaction, one connection per caller."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_events (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial UNIQUE, PRIMARY KEY (originator_id, originator_version))"
        )
    local = threading.local()
    connections: list[psycopg.Connection[Any]] = []
    lock = threading.Lock()

    def insert(i: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True)
            with lock:
                connections.append(conn)
        conn.execute(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, %s, %s) RETURNING notification_id",
            (uuid.uuid4(), "ledger.aggregates.order:Order.Received", state),
        ).fetchone()

    _timed_calls(min(200, count), callers, insert)  # warm-up: connections
    try:
        return _timed_calls(count, callers, insert)
    finally:
        for conn in connections:
            conn.close()


def _library_appends(url: str, count: int, callers: int, state: bytes) -> dict[str, Any]:
    """The eventsourcing library's PostgreSQL recorder as it comes (pool sized for the callers)."""
    from eventsourcing.persistence import InfrastructureFactory, StoredEvent
    from eventsourcing.utils import Environment

    from ledger.settings import parse_database_url

    target = parse_database_url(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname, "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port), "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password, "POSTGRES_POOL_SIZE": str(callers),
    }  # fmt: skip
    factory = InfrastructureFactory.construct(Environment("library", env))
    try:
        recorder = factory.application_recorder()

        def append(i: int) -> None:
            recorder.insert_events(
                [StoredEvent(uuid.uuid4(), 1, "ledger.aggregates.order:Order.Received", state)]
            )

        _timed_calls(min(200, count), callers, append)
        return _timed_calls(count, callers, append)
    finally:
        factory.close()


def _application_appends(url: str, count: int, callers: int) -> dict[str, Any]:
    """``Ledger.save`` of new orders (mapper, encryption, chain, recorder)."""
    from ledger.aggregates.context import Stamp, stamped
    from ledger.aggregates.order import Order
    from ledger.aggregates.values import Customer, Delivery, Line
    from ledger.application import Ledger, order_id_for
    from ledger.settings import Settings

    app = Ledger(Settings(database_url=f"{url}?schema=app", run_projections=False))
    customer = Customer(name="華東五金有限公司", phone="021-5555-0101")
    lines = [Line(sku="A-100", name="不鏽鋼保溫杯", quantity=3, unit_price=Decimal("100.00"))]
    delivery = Delivery(address="上海市浦東新區世紀大道100號", consignee="王小明")
    serial = iter(range(1, 10**9))

    def orders(n: int) -> list[Order]:
        now = datetime.now(UTC)
        with stamped(Stamp(now, {"actor": "bench"})):
            return [
                Order.receive(
                    order_id=order_id_for(number),
                    number=number,
                    channel="email",
                    customer=customer,
                    lines=lines,
                    delivery=delivery,
                    currency="CNY",
                    requested_date=None,
                )
                for number in (f"SO-2099-{next(serial):06d}" for _ in range(n))
            ]

    def run(n: int, callers: int) -> dict[str, Any]:
        batch = orders(n)
        return _timed_calls(n, callers, lambda i: app.save(batch[i]) and None)

    recorder: Any = app.recorder
    try:
        run(min(200, count), callers)  # warm-up
        figures = {
            "app_append_1": run(max(count // 4, 100), 1),
            "app_append_16": run(count, callers),
        }
        recorder.group_commit = False
        figures["app_append_16_no_group_commit"] = run(count, callers)
        recorder.group_commit = True
        return figures
    finally:
        app.close()


# -- HTTP --------------------------------------------------------------------


def _http_figures(database_url: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    server = _start(database_url, port, workers)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        return _run(port, args.requests, args.clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


class _Connection:
    """One keep-alive HTTP/1.1 connection on a raw socket.

    Much cheaper per request than an HTTP library, so the load generator
    (which shares the two cores with the server) is not what is measured.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def call(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        head = buffer[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        total = end + 4 + length
        while len(buffer) < total:
            buffer += self._recv()
        self.buffer = buffer[total:]
        return int(head[9:12]), buffer[end + 4 : total]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def request(method: str, path: str, body: bytes = b"", auth: bool = True) -> bytes:
    """A complete HTTP/1.1 request, built once where it does not vary."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if auth:
        lines.append(f"Authorization: Bearer {TOKEN}")
    if method != "GET":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _phase(port: int, count: int, clients: int, call: Call, expect: int) -> dict[str, Any]:
    """``count`` calls spread over ``clients`` threads; latencies in ms."""

    def worker(offset: int) -> list[float]:
        latencies = []
        connection = _Connection(port)
        try:
            for i in range(offset, count, clients):
                started = time.perf_counter()
                status, body = call(connection, i)
                latencies.append((time.perf_counter() - started) * 1000)
                if status != expect:
                    raise RuntimeError(f"{status}: {body[:200]!r}")
        finally:
            connection.close()
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(worker, range(clients)) for ms in part]
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
    }


def _run(port: int, count: int, clients: int) -> dict[str, dict[str, Any]]:
    ids: dict[int, str] = {}
    health_request = request("GET", "/health", auth=False)
    create_request = request("POST", "/orders", json.dumps(RECEIPT).encode())
    verify_body = json.dumps(VERIFY).encode()

    def health(connection: _Connection, i: int) -> tuple[int, bytes]:
        return connection.call(health_request)

    def create(connection: _Connection, i: int) -> tuple[int, bytes]:
        status, body = connection.call(create_request)
        if status == 201:
            ids[i] = json.loads(body)["id"]
        return status, body

    def verify(connection: _Connection, i: int) -> tuple[int, bytes]:
        return connection.call(request("POST", f"/orders/{ids[i]}/verify", verify_body))

    _phase(port, min(500, count), clients, health, 200)  # warm-up: connections, caches
    return {
        "health": _phase(port, count, clients, health, 200),
        "create": _phase(port, count, clients, create, 201),
        "verify": _phase(port, count, clients, verify, 200),
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    rows: list[tuple[str, dict[str, Any], str, float]] = []
    store = results.get("store", {})
    if store:
        raw = store["raw_insert"]["per_s"]
        library = store["library_recorder"]["per_s"]
        rows.append(("raw psycopg insert, 1 row/txn", store["raw_insert"], "", 0.0))
        rows.append(
            ("library recorder append", store["library_recorder"], "raw", _ratio(library, raw))
        )
        for name, label in (
            ("app_append_1", "ledger append, 1 caller"),
            ("app_append_16", "ledger append (group commit)"),
            ("app_append_16_no_group_commit", "ledger append, no group commit"),
        ):
            rows.append((label, store[name], "raw", _ratio(store[name]["per_s"], raw)))
        store["ratios"] = {
            "library_over_raw": _ratio(library, raw),
            "app16_over_raw": _ratio(store["app_append_16"]["per_s"], raw),
            "app16_over_library": _ratio(store["app_append_16"]["per_s"], library),
            "app16_over_no_group_commit": _ratio(
                store["app_append_16"]["per_s"], store["app_append_16_no_group_commit"]["per_s"]
            ),
        }
    for key, label in (("http_postgres", "HTTP PostgreSQL"), ("http_sqlite", "HTTP SQLite")):
        http = results.get(key)
        if not http:
            continue
        health = http["health"]["per_s"]
        rows.append((f"{label} GET /health", http["health"], "", 0.0))
        for phase in ("create", "verify"):
            rows.append(
                (f"{label} {phase}", http[phase], "/health", _ratio(http[phase]["per_s"], health))
            )
        http["ratios"] = {
            "create_over_health": _ratio(http["create"]["per_s"], health),
            "verify_over_health": _ratio(http["verify"]["per_s"], health),
        }
    print(f"{'figure':<40} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}  ratio")
    for label, r, base, ratio in rows:
        shown = f"{ratio:.2f}x {base}" if base else ""
        print(f"{label:<40} {r['per_s']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8}  {shown}")
    if store:
        over_library = store["ratios"]["app16_over_library"]
        print(f"ledger append (group commit) / library recorder: {over_library}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": list(os.getloadavg())},
        "config": {"workers": args.workers, "clients": args.clients,
                   "requests_per_phase": args.requests, "appends": args.appends,
                   "quick": args.quick},
        "results": results,
    }  # fmt: skip
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")


def _audit_section(args: argparse.Namespace) -> None:
    """Audit figures (verify, backup, restore, chain write cost): scripts/bench_audit.py."""
    if not args.audit_orders:
        return
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_audit

    figures = bench_audit.run(args.pg_admin, args.audit_orders)
    print(json.dumps({"audit": figures}, indent=2))
    out = ROOT / "bench" / "audit_results.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (under 2 minutes)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per HTTP phase")
    parser.add_argument("--appends", type=int, default=4000, help="saves per store figure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-store", action="store_true", help="only the HTTP figures")
    parser.add_argument("--skip-http", action="store_true", help="only the store figures")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument(
        "--audit-orders", type=int, default=0, help="also run the audit figures on N demo orders"
    )
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(database_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": database_url,
        "LEDGER_TOKENS": json.dumps({TOKEN: {"role": "merchandiser", "name": "bench"}}),
    }
    command = [
        str(Path(sys.executable).with_name("ledger")), "serve", "--port", str(port),
        "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env)


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("ledger serve exited during start-up")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                time.sleep(1)  # let every worker finish starting
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("ledger serve did not become healthy")


if __name__ == "__main__":
    sys.exit(main())
