"""Benchmark the change feed and the webhook deliveries (`scripts/bench integration`).

On a fresh PostgreSQL database filled by `ledger demo --orders N` (or the one
`--reuse URL` names):

1. feed read rate: the whole log read as `GET /events` pages of the largest
   size from `ledger serve` (one worker, no projections) by one client, in
   events per second, with the server's CPU time per event; beside it the
   raw SELECT of the events table in pages (no decoding) made just before.
   The feed's read model is filled first (`ledger rebuild feed`, timed), as
   a service running its projections keeps it; without it the server would
   decode every event (the rate of that path: `LEDGER_BENCH_FEED_MODEL=no`);
2. webhook delivery lag: a subscription to every event, delivered by a
   `ledger project --only board --no-schedule` process to a receiver on
   loopback (a process of its own) that verifies each delivery with the
   `standardwebhooks` package; commands at a steady 300/s from this process
   (after a warm-up second, unmeasured); lag = the receiver got the event -
   the command that wrote it returned (wall clock); p50, p90, p99, max, and
   the delivering process's CPU time per command.

Writes bench/integration.json; drops the database it made.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
from ledger.application import Ctx, Ledger  # noqa: E402
from ledger.integration.feed import MAX_LIMIT  # noqa: E402
from ledger.integration.webhook_store import WebhookStore  # noqa: E402
from ledger.settings import Settings  # noqa: E402

LEDGER = str(Path(sys.executable).with_name("ledger"))
TOKEN = "bench-admin"
KEY = "bench-integration-audit-key-0123456789abcdef"
RATE = 300


def main() -> int:
    args = _arguments()
    if args.reuse:
        results = run_on(args.reuse, args.lag_seconds)
    else:
        with bench._database(args.pg_admin) as url:
            env = {**os.environ, "LEDGER_DATABASE_URL": url}
            subprocess.run([LEDGER, "demo", "--orders", str(args.orders)], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            results = run_on(url, args.lag_seconds)
    _report(results, args.out)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20000, help="demo orders (default 20000)")
    parser.add_argument("--quick", action="store_true", help="3000 orders, a short lag phase")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--reuse", metavar="URL", help="a database already holding demo data")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "integration.json"))
    args = parser.parse_args()
    if args.quick:
        args.orders, args.lag_seconds = 3000, min(args.lag_seconds, 6.0)
    return args


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_AUDIT_KEY": KEY,
            "LEDGER_TOKENS": json.dumps({TOKEN: {"role": "admin", "name": "bench"}}),
            "LEDGER_WEBHOOK_ALLOW_PRIVATE": "true"}  # fmt: skip


def run_on(url: str, lag_seconds: float) -> dict[str, Any]:
    """Both figures on a database already holding the demo's log."""
    results: dict[str, Any] = {"feed": _feed(url)}
    print(f"  feed: {results['feed']}", flush=True)
    results["webhook_lag"] = _webhook_lag(url, lag_seconds)
    print(f"  webhook lag: {results['webhook_lag']}", flush=True)
    return results


# -- the feed --------------------------------------------------------------------


def _feed(url: str) -> dict[str, Any]:
    """The whole log through GET /events, beside a raw paged SELECT of it."""
    ledger = Ledger(Settings(database_url=url, pool_size=2))
    try:
        head = ledger.recorder.max_notification_id() or 0
        raw = _raw_rate(ledger, head)
    finally:
        ledger.close()
    filled = _fill_feed_model(url) if os.environ.get("LEDGER_BENCH_FEED_MODEL") != "no" else None
    port = bench._free_port()
    env = {**_env(url), "LEDGER_RUN_PROJECTIONS": "false"}
    command = [LEDGER, "serve", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env)
    try:
        bench._wait_healthy(f"http://127.0.0.1:{port}", server)
        rounds = [_read_feed(port, server.pid, head) for _ in range(2)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    best = max(rounds, key=lambda r: r["events_per_s"])
    return {"events": head, "page": MAX_LIMIT, "raw_select_events_per_s": round(raw),
            "feed_model_fill_s": filled, **best, "rounds": rounds}  # fmt: skip


def _fill_feed_model(url: str) -> float:
    """``ledger rebuild feed``: the feed's read model made, in seconds."""
    started = time.perf_counter()
    subprocess.run([LEDGER, "rebuild", "feed"], env=_env(url), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return round(time.perf_counter() - started, 1)


def _raw_rate(ledger: Ledger, head: int) -> float:
    started, position = time.perf_counter(), 0
    while position < head:
        notes = ledger.recorder.select_notifications(position, MAX_LIMIT, inclusive_of_start=False)
        if not notes:
            break
        position = notes[-1].id
    return position / (time.perf_counter() - started)


def _read_feed(port: int, pid: int, head: int) -> dict[str, Any]:
    """One client reading every page from position 0, as fast as it can."""
    cpu = _cpu_seconds(pid)
    started, position, events = time.perf_counter(), 0, 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as http:  # fmt: skip
        while position < head:
            response = http.get("/events", params={"after": position, "limit": MAX_LIMIT})
            page = orjson.loads(response.content)
            events += len(page["events"])
            position = page["next"]
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds(pid) - cpu
    return {"events_read": events, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds),
            "server_cpu_us_per_event": round(cpu / events * 1e6, 1),
            "events_per_server_cpu_s": round(events / cpu) if cpu else None}  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- webhook delivery lag --------------------------------------------------------


def _receive(conn: Connection) -> None:
    """The receiver's process: verifies each delivery and notes (wall clock) when
    each position first arrived; answers the parent's requests on ``conn``:
    its URL, then the secret, then which positions arrived when."""
    secret = [""]
    arrived: dict[int, float] = {}
    unverified = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            now = time.time()
            try:
                data = Webhook(secret[0]).verify(body, dict(self.headers.items()))
                with lock:
                    arrived.setdefault(data["data"]["position"], now)
            except Exception:
                unverified[0] += 1
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    secret[0] = conn.recv()
    while (request := conn.recv()) != "stop":
        with lock:
            conn.send(({p: arrived[p] for p in request if p in arrived}, unverified[0]))
    server.shutdown()


class _Receiver:
    """The receiver, in a process of its own (this one sends the commands)."""

    def __init__(self) -> None:
        self.conn, theirs = multiprocessing.get_context("spawn").Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_receive, args=(theirs,), daemon=True
        )
        self.process.start()

    def url(self) -> str:
        url: str = self.conn.recv()
        return url

    def verify_with(self, secret: str) -> None:
        self.conn.send(secret)

    def arrived(self, positions: list[int]) -> tuple[dict[int, float], int]:
        self.conn.send(positions)
        found: tuple[dict[int, float], int] = self.conn.recv()
        return found

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(timeout=10)


def _webhook_lag(url: str, seconds: float) -> dict[str, Any]:
    receiver = _Receiver()
    settings = Settings(database_url=url, pool_size=4, audit_key=KEY, run_projections=False,
                        tokens={TOKEN: "admin"}, webhook_allow_private=True)  # fmt: skip
    ledger = Ledger(settings)
    project, webhook_id = None, ""
    try:
        secret, webhook_id = _subscribe(ledger, receiver.url())
        receiver.verify_with(secret)
        project = subprocess.Popen([LEDGER, "project", "--only", "board", "--no-schedule"],
                                   env=_env(url), stderr=subprocess.DEVNULL)  # fmt: skip
        _board_caught_up(ledger, 600)  # a fresh data set's board is filled first
        warmup = _steady_commands(ledger, 1.0)
        _wait_arrived(receiver, [p for p, _ in warmup], 60)
        cpu = _cpu_seconds(project.pid)
        sent = _steady_commands(ledger, seconds)
        arrived, unverified = _wait_arrived(receiver, [p for p, _ in sent], 60)
        cpu = _cpu_seconds(project.pid) - cpu
    finally:
        if project is not None:
            project.terminate()
            project.wait(timeout=30)
        receiver.stop()
        if webhook_id:  # a reused database is left as it was
            WebhookStore.of(ledger).delete(webhook_id)
        ledger.close()
    lags = [(arrived[p] - t) * 1000 for p, t in sent]
    cuts = statistics.quantiles(lags, n=100)
    return {"commands": len(lags), "rate_per_s": RATE, "p50_ms": round(cuts[49], 1),
            "p90_ms": round(cuts[89], 1), "p99_ms": round(cuts[98], 1),
            "max_ms": round(max(lags), 1), "unverified": unverified,
            "project_cpu_ms_per_command": round(cpu / len(lags) * 1000, 2)}  # fmt: skip


def _board_caught_up(ledger: Ledger, timeout: float) -> None:
    from ledger.projections.board import BOARD
    from ledger.projections.runner import open_view

    view, head = open_view(ledger, BOARD), ledger.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while (view.max_tracking_id(ledger.name) or 0) < head:
        if time.monotonic() > deadline:
            raise SystemExit(f"the board did not reach {head} in {timeout} s")
        time.sleep(0.2)


def _subscribe(ledger: Ledger, url: str) -> tuple[str, str]:
    """A subscription to every event, through the API; its secret and id."""
    from fastapi.testclient import TestClient

    from ledger.api.app import create_app

    with TestClient(create_app(ledger=ledger)) as client:
        response = client.post("/admin/webhooks", json={"url": url, "events": ["*"]},
                               headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    if response.status_code != 201:
        raise SystemExit(f"could not subscribe: {response.text}")
    return str(response.json()["secret"]), str(response.json()["id"])


def _steady_commands(ledger: Ledger, seconds: float) -> list[tuple[int, float]]:
    """Orders received at ``RATE`` per second; (position, when it returned) of each."""
    from ledger.aggregates.values import Customer, Delivery, Line

    ctx, interval = Ctx(actor="bench"), 1 / RATE
    lines = [Line("A-100", "保溫杯", 3, Decimal("100.00"))]
    sent: list[tuple[int, float]] = []
    started = time.perf_counter()
    for i in range(int(seconds * RATE)):
        pause = started + i * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        result = ledger.receive(ctx, channel="email", customer=Customer("華東五金"),
                                lines=lines, delivery=Delivery("上海", "王小明"))  # fmt: skip
        sent.append((result.position or 0, time.time()))
    return sent


def _wait_arrived(
    receiver: _Receiver, positions: list[int], timeout: float
) -> tuple[dict[int, float], int]:
    deadline = time.monotonic() + timeout
    while True:
        arrived, unverified = receiver.arrived(positions)
        if len(arrived) == len(positions):
            return arrived, unverified
        if time.monotonic() > deadline:
            missing = len(positions) - len(arrived)
            raise SystemExit(f"{missing} deliveries did not arrive in {timeout} s")
        time.sleep(0.1)


def _report(results: dict[str, Any], out: str) -> None:
    feed, lag = results["feed"], results["webhook_lag"]
    print(f"feed: {feed['events_per_s']:,} events/s over HTTP (pages of {feed['page']}; "
          f"server CPU {feed['server_cpu_us_per_event']} µs/event; raw SELECT "
          f"{feed['raw_select_events_per_s']:,}/s)")  # fmt: skip
    print(f"webhook lag at {lag['rate_per_s']} commands/s: p50 {lag['p50_ms']} ms, "
          f"p90 {lag['p90_ms']} ms, p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms "
          f"({lag['commands']} commands, {lag['unverified']} unverified; `ledger project` "
          f"CPU {lag['project_cpu_ms_per_command']} ms per command)")  # fmt: skip
    document = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "load_average": os.getloadavg(), **results}  # fmt: skip
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    sys.exit(main())
