"""Benchmark `ledger serve` on PostgreSQL over loopback (first version).

Creates a fresh PostgreSQL database, starts `ledger serve --workers 2` on a
free port, and runs three phases from 16 concurrent clients (threads, one
keep-alive httpx client each): GET /health (the framework's ceiling),
POST /orders, and a follow-up command (POST /orders/{id}/verify) on each
created order. Prints requests/s, p50 and p99 per phase and the ratio
commands/health; writes bench/results.json. Drops the database afterwards.
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
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}
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

Call = Callable[[httpx.Client, int], httpx.Response]


def main() -> int:
    args = _arguments()
    dbname = f"ledger_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.pg_admin, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(dbname)))
    base = args.pg_admin.rsplit("/", 1)[0]
    port = _free_port()
    server = _start(f"{base}/{dbname}", port, args.workers)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server)
        results = _run(url, args.requests, args.clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        drop = sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)")
        admin.execute(drop.format(sql.Identifier(dbname)))
        admin.close()
    _report(results, args)
    _audit_section(args)
    return 0


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
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
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


def _phase(url: str, count: int, clients: int, call: Call, expect: int) -> dict[str, Any]:
    """``count`` calls spread over ``clients`` threads; latencies in ms."""

    def worker(offset: int) -> list[float]:
        latencies = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(offset, count, clients):
                started = time.perf_counter()
                response = call(client, i)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != expect:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [ms for part in pool.map(worker, range(clients)) for ms in part]
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(count / elapsed, 1),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
    }


def _run(url: str, count: int, clients: int) -> dict[str, dict[str, Any]]:
    ids: dict[int, str] = {}

    def health(client: httpx.Client, i: int) -> httpx.Response:
        return client.get("/health")

    def create(client: httpx.Client, i: int) -> httpx.Response:
        response = client.post("/orders", json=RECEIPT, headers=AUTH)
        ids[i] = response.json().get("id", "")
        return response

    def verify(client: httpx.Client, i: int) -> httpx.Response:
        return client.post(f"/orders/{ids[i]}/verify", json=VERIFY, headers=AUTH)

    _phase(url, min(500, count), clients, health, 200)  # warm-up: connections, caches
    return {
        "health": _phase(url, count, clients, health, 200),
        "create": _phase(url, count, clients, create, 201),
        "verify": _phase(url, count, clients, verify, 200),
    }


def _report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    health = results["health"]["requests_per_s"]
    ratios = {
        "create_over_health": round(results["create"]["requests_per_s"] / health, 3),
        "verify_over_health": round(results["verify"]["requests_per_s"] / health, 3),
    }
    print(f"{'phase':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(f"{name:<8} {r['requests_per_s']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8}")
    print(f"commands/health: create {ratios['create_over_health']}, "
          f"verify {ratios['verify_over_health']}")  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "config": {"store": "postgres", "workers": args.workers, "clients": args.clients,
                   "requests_per_phase": args.requests},
        "results": results,
        "ratios": ratios,
    }  # fmt: skip
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
