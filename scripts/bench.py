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


ROUNDS = 4  # every figure is measured in rounds, interleaved with its baseline


class _Samples:
    """Latencies (ms) and elapsed seconds of one figure, over its rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # of the server's processes, when measured

    def summary(self, **extra: Any) -> dict[str, Any]:
        cuts = statistics.quantiles(self.latencies, n=100)
        return {
            "count": len(self.latencies),
            **extra,
            "seconds": round(self.seconds, 3),
            "per_s": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(cuts[49], 2),
            "p99_ms": round(cuts[98], 2),
            **({"server_cpu_ms": round(self.cpu_seconds / len(self.latencies) * 1000, 3)}
               if self.cpu_seconds else {}),
        }  # fmt: skip


def _timed_calls(
    samples: _Samples, start: int, count: int, callers: int, call: Callable[[int], None]
) -> None:
    """Calls ``start`` .. ``start + count - 1`` spread over ``callers`` threads
    (call ``i`` runs on thread ``i % callers``), added to ``samples``."""

    def worker(offset: int) -> list[float]:
        latencies = []
        for i in range(start + offset, start + count, callers):
            started = time.perf_counter()
            call(i)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        parts = list(pool.map(worker, range(callers)))
    samples.seconds += time.perf_counter() - started
    samples.latencies += [ms for part in parts for ms in part]


def _interleaved(
    count: int,
    figures: dict[str, tuple[int, Callable[[int], None]]],
    cpu: Callable[[], float] | None = None,
) -> dict[str, _Samples]:
    """Each figure ``name: (callers, call)`` measured in ``ROUNDS`` rounds, the
    figures taking turns within each round, so that a baseline and what is
    compared with it see the same machine (other load comes and goes)."""
    samples = {name: _Samples() for name in figures}
    chunk = max(count // ROUNDS, 1)
    for round_ in range(ROUNDS):
        for name, (callers, call) in figures.items():
            before = cpu() if cpu else 0.0
            _timed_calls(samples[name], round_ * chunk, chunk, callers, call)
            samples[name].cpu_seconds += (cpu() - before) if cpu else 0.0
    return samples


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants
    (those still running, and those that exited)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        # utime, stime, and cutime, cstime: children that exited and were reaped.
        used[child] = sum(int(f) for f in fields[11:15]) / ticks
    total = 0.0
    for child, seconds in used.items():
        ancestor = child
        while ancestor not in (pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == pid:
            total += seconds
    return total


def _store_figures(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Raw inserts, the library's recorder and the ledger's append, interleaved."""
    from eventsourcing.persistence import InfrastructureFactory, StoredEvent
    from eventsourcing.utils import Environment

    from ledger.application import Ledger
    from ledger.settings import Settings, parse_database_url

    count, callers = args.appends, args.clients
    state = os.urandom(600)  # about the size of a stored OrderReceived
    topic = "ledger.aggregates.order:Order.Received"

    # The ceiling: one event-sized row per transaction, one connection per caller.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_events (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial UNIQUE, PRIMARY KEY (originator_id, originator_version))"
        )
    connections = [psycopg.connect(url, autocommit=True) for _ in range(callers)]

    def raw(i: int) -> None:
        connections[i % callers].execute(
            "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, %s, %s) RETURNING notification_id",
            (uuid.uuid4(), topic, state),
        ).fetchone()

    # The eventsourcing library's PostgreSQL recorder as it comes (pool sized
    # for the callers).
    target = parse_database_url(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname, "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port), "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password, "POSTGRES_POOL_SIZE": str(callers),
    }  # fmt: skip
    factory = InfrastructureFactory.construct(Environment("library", env))
    library = factory.application_recorder()

    def library_append(i: int) -> None:
        library.insert_events([StoredEvent(uuid.uuid4(), 1, topic, state)])

    # The ledger: ``Ledger.save`` of new orders (mapper, personal-data
    # sealing, hash chain, recorder), built beforehand.
    app = Ledger(Settings(database_url=f"{url}?schema=app", run_projections=False))
    plain = Ledger(Settings(database_url=f"{url}?schema=plain", run_projections=False))
    recorder: Any = plain.recorder
    recorder.group_commit = False  # the same recorder, one transaction per save
    single = max(count // 4, 100)
    orders = {
        "app_append_1": _new_orders(single, 1),
        "app_append_16": _new_orders(count, 2),
        "app_append_16_no_group_commit": _new_orders(count, 3),
    }
    try:
        # Warm-up: connections, prepared statements, caches.
        _interleaved(min(200, count), {"raw": (callers, raw), "library": (callers, library_append)})
        app.save(_new_orders(1, 4)[0])
        plain.save(_new_orders(1, 5)[0])
        samples = _interleaved(count, {
            "raw_insert": (callers, raw),
            "library_recorder": (callers, library_append),
            "app_append_16": (callers, lambda i: _save(app, orders["app_append_16"][i])),
            "app_append_16_no_group_commit": (
                callers, lambda i: _save(plain, orders["app_append_16_no_group_commit"][i])
            ),
        })  # fmt: skip
        samples.update(_interleaved(single, {
            "app_append_1": (1, lambda i: _save(app, orders["app_append_1"][i])),
        }))  # fmt: skip
        return {name: s.summary() for name, s in samples.items()}
    finally:
        for conn in connections:
            conn.close()
        factory.close()
        app.close()
        plain.close()


def _save(app: Any, order: Any) -> None:
    app.save(order)


def _new_orders(count: int, series: int) -> list[Any]:
    """``count`` orders received (one event each), not yet saved."""
    from ledger.aggregates.context import Stamp, stamped
    from ledger.aggregates.order import Order
    from ledger.aggregates.values import Customer, Delivery, Line
    from ledger.application import order_id_for

    customer = Customer(name="華東五金有限公司", phone="021-5555-0101")
    lines = [Line(sku="A-100", name="不鏽鋼保溫杯", quantity=3, unit_price=Decimal("100.00"))]
    delivery = Delivery(address="上海市浦東新區世紀大道100號", consignee="王小明")
    with stamped(Stamp(datetime.now(UTC), {"actor": "bench"})):
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
            for number in (f"SO-{2090 + series}-{n:06d}" for n in range(1, count + 1))
        ]


# -- HTTP --------------------------------------------------------------------


def _http_figures(database_url: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    server = _start(database_url, port, workers)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        return _run(port, args.requests, args.clients, server.pid)
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


def _run(port: int, count: int, clients: int, server_pid: int) -> dict[str, dict[str, Any]]:
    """GET /health, POST /orders and a follow-up verify on each created order,
    taking turns in rounds (see ``_interleaved``); one keep-alive connection
    per client thread."""
    connections = [_Connection(port) for _ in range(clients)]
    ids: dict[int, str] = {}
    health_request = request("GET", "/health", auth=False)
    create_request = request("POST", "/orders", json.dumps(RECEIPT).encode())
    verify_body = json.dumps(VERIFY).encode()

    def expect(status: int, body: bytes, wanted: int) -> bytes:
        if status != wanted:
            raise RuntimeError(f"{status}: {body[:200]!r}")
        return body

    def health(i: int) -> None:
        expect(*connections[i % clients].call(health_request), 200)

    def create(i: int) -> None:
        ids[i] = json.loads(expect(*connections[i % clients].call(create_request), 201))["id"]

    def verify(i: int) -> None:
        path = f"/orders/{ids[i]}/verify"
        expect(*connections[i % clients].call(request("POST", path, verify_body)), 200)

    try:
        _interleaved(min(400, count), {"warm-up": (clients, health)})
        samples = _interleaved(count, {
            "health": (clients, health), "create": (clients, create), "verify": (clients, verify),
        }, cpu=lambda: _tree_cpu(server_pid))  # fmt: skip
        return {name: s.summary() for name, s in samples.items()}
    finally:
        for connection in connections:
            connection.close()


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
    print(f"{'figure':<40} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7}  ratio")
    for label, r, base, ratio in rows:
        shown = f"{ratio:.2f}x {base}" if base else ""
        cpu = r.get("server_cpu_ms", "")
        print(f"{label:<40} {r['per_s']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8} {cpu:>7}  {shown}")
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
        # Not the forecast job at start (the suite's store has no forecasts yet):
        # a minute of one core in the middle of the figures (reports.md#the-daily-job).
        "LEDGER_FORECAST_CRON": "",
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
