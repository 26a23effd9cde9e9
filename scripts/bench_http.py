"""HTTP figures with a native load generator (`wrk`), beside the plain peer.

Starts, each on a fresh PostgreSQL database and with 2 workers:

- ``peer``: the naive way to build the write endpoint (scripts/bench_peer.py:
  plain FastAPI, one created event saved with the eventsourcing library's
  defaults);
- ``ledger``: ``ledger serve`` with the projection runners in the server, as
  by default;
- ``ledger-noproj``: ``ledger serve --no-projections``.

and drives each with ``wrk -t1 -c16`` (``--connections``) for a few seconds
per phase, the servers taking turns within each round so that every ratio
compares figures measured moments apart:

- ``health``: ``GET /health`` (the peer's touches no store; ledger's asks the
  store: readiness) and ledger's ``GET /health/live`` (liveness, no store);
- ``create``: ``POST /orders``;
- ``follow``: ledger only, ``POST /orders`` then ``POST /orders/{id}/verify``
  on each created order (commands of both kinds, counted together);
- ``feed``: ledger only, ``GET /events?after=…&limit=2000`` from one client
  (``wrk -c1``), and from ``--feed-readers`` at once, over the log the
  phases before wrote, in events per second.

For every figure: requests per second, p50/p99/max latency (wrk's), and the
CPU split per request from ``/proc``: the server's process tree, the
PostgreSQL backends connected to its database, and wrk itself.

``--profile`` then records one more create phase on ledger under
``py-spy record`` (installed from the project's ``bench`` extra when
missing) and prints the top of the profile, and counts the statements
PostgreSQL ran per command (its log, with ``log_statement = all`` set on the
bench database only, as ``pg_stat_statements`` is not loaded on a shared
server that cannot be restarted; it is used instead when it is loaded).

wrk is installed with apt-get when missing (as root, or under CI=true), as
scripts/test installs Chromium. Writes bench/http.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench

ROOT = bench.ROOT
SETTLE = 30.0  # seconds from the servers' start to the first figure
PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")

DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"socket_errors\":%d,\"bad_status\":%d," ..
    "\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_string(data: str) -> str:
    return "[==[" + data + "]==]"


def _headers_lua(auth: bool, body: bool) -> str:
    lines = ["local headers = {}"]
    if auth:
        lines.append(f'headers["Authorization"] = "Bearer {bench.TOKEN}"')
    if body:
        lines.append('headers["Content-Type"] = "application/json"')
    return "\n".join(lines) + "\n"


def get_script(path: str, auth: bool) -> str:
    return (
        _headers_lua(auth, False)
        + f'request = function() return wrk.format("GET", {_lua_string(path)}, headers) end\n'
        + DONE_LUA
    )


def post_script(path: str, body: str, auth: bool) -> str:
    return (
        _headers_lua(auth, True)
        + f"local body = {_lua_string(body)}\n"
        + "request = function()\n"
        + f'  return wrk.format("POST", {_lua_string(path)}, headers, body)\nend\n'
        + DONE_LUA
    )


def follow_script(create_body: str, verify_body: str) -> str:
    """Creates an order, then verifies each order created (wrk calls
    ``response`` then ``request`` on the same thread: a queue of ids)."""
    return (
        _headers_lua(True, True)
        + f"local create = {_lua_string(create_body)}\n"
        + f"local verify = {_lua_string(verify_body)}\n"
        + """local ids = {}
request = function()
  local id = table.remove(ids)
  if id then return wrk.format("POST", "/orders/" .. id .. "/verify", headers, verify) end
  return wrk.format("POST", "/orders", headers, create)
end
response = function(status, hdrs, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    if id then table.insert(ids, id) end
  end
end
"""
        + DONE_LUA
    )


def feed_script(head: int, limit: int) -> str:
    """Pages of ``limit`` events from positions spread over the log."""
    return (
        _headers_lua(True, False)
        + f"local head, limit, n = {head}, {limit}, 0\n"
        + """request = function()
  local span = math.max(head - limit, 1)
  local after = (n * limit) % span
  n = n + 1
  return wrk.format("GET", "/events?after=" .. after .. "&limit=" .. limit, headers)
end
"""
        + DONE_LUA
    )


# -- wrk ---------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 or os.environ.get("CI") == "true":
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    return found


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


class Server:
    """A running server, its database and how to measure its CPU."""

    def __init__(self, name: str, url: str, port: int, process: subprocess.Popen[bytes]) -> None:
        self.name = name
        self.url = url
        self.dbname = url.rsplit("/", 1)[1].split("?")[0]
        self.port = port
        self.process = process

    def backends(self, admin: psycopg.Connection[Any]) -> list[int]:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,)
        ).fetchall()
        return [int(r[0]) for r in rows]


def run_wrk(
    wrk: str,
    server: Server,
    script: str,
    seconds: float,
    connections: int,
    admin: psycopg.Connection[Any],
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        pg_before = {pid: _proc_cpu(pid) for pid in server.backends(admin)}
        server_before = bench._tree_cpu(server.process.pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [
            wrk, "-t1", f"-c{connections}", f"-d{max(round(seconds), 1)}s", "--timeout", "10s",
            "-s", f.name, f"http://127.0.0.1:{server.port}",
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = bench._tree_cpu(server.process.pid) - server_before
        pg_cpu = sum(_proc_cpu(pid) - pg_before.get(pid, 0.0) for pid in server.backends(admin))
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    r = json.loads(line[len("WRK_JSON ") :])
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    n = max(r["requests"], 1)
    return {
        "requests": r["requests"],
        "seconds": r["duration_us"] / 1e6,
        "errors": r["socket_errors"] + r["bad_status"],
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "cpu_s": {"server": server_cpu, "postgres": pg_cpu, "wrk": wrk_cpu},
        "cpu_ms_per_request": {
            "server": server_cpu / n * 1000,
            "postgres": pg_cpu / n * 1000,
            "wrk": wrk_cpu / n * 1000,
        },
    }


def merged(runs: list[dict[str, Any]], per_request: int = 1) -> dict[str, Any]:
    """The rounds of one figure together: rates summed over time, latencies
    as the range of the rounds' (wrk gives no histogram to merge)."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    cpu = {k: sum(r["cpu_s"][k] for r in runs) for k in ("server", "postgres", "wrk")}
    return {
        "requests": requests,
        "per_s": round(requests / seconds, 1),
        "items_per_s": round(requests * per_request / seconds, 1),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": _spread(runs, "p50_ms"),
        "p99_ms": _spread(runs, "p99_ms"),
        "max_ms": round(max(r["max_ms"] for r in runs), 2),
        "cpu_ms_per_request": {k: round(v / max(requests, 1) * 1000, 3) for k, v in cpu.items()},
        "cores": {k: round(v / seconds, 2) for k, v in cpu.items()},
        "rounds": [round(r["requests"] / r["seconds"], 1) for r in runs],
    }  # fmt: skip


def _spread(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [round(min(r[key] for r in runs), 2), round(max(r[key] for r in runs), 2)]


# -- servers -----------------------------------------------------------------


def start_peer(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    target = urlsplit(url)
    env = {
        **os.environ,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.path.lstrip("/"),
        "POSTGRES_HOST": target.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(target.port or 5432),
        "POSTGRES_USER": target.username or "postgres",
        "POSTGRES_PASSWORD": "",
    }
    # The table made once before the workers start: two workers creating it at
    # once can collide in PostgreSQL's catalogue, and one of them then exits.
    subprocess.run([sys.executable, "-c", "import bench_peer"], cwd=ROOT / "scripts", env=env,
                   check=True)  # fmt: skip
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "scripts"), "bench_peer:app",
        "--port", str(port), "--workers", str(workers), "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env)


def start_ledger(
    url: str, port: int, workers: int, projections: bool, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``ledger serve`` (``env``: variables added for it, e.g. ``PYTHONPATH``
    of an earlier version's source)."""
    extra = {**env, **({} if projections else {"LEDGER_RUN_PROJECTIONS": "false"})}
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        return bench._start(url, port, workers)
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def source_of(ref: str, into: Path) -> Path:
    """The ``src`` folder of commit ``ref``, exported into ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server on port {port} exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                time.sleep(1)
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not come up")


@contextmanager
def servers(args: argparse.Namespace) -> Iterator[dict[str, Server]]:
    with ExitStack() as stack:
        running: dict[str, Server] = {}
        names = [
            "peer",
            *(["ledger-before"] if args.before else []),
            "ledger",
            *(["ledger-noproj"] if args.no_projections_too else []),
        ]
        env = {"LEDGER_POOL_SIZE": str(args.pool_size)} if args.pool_size else {}
        for name in names:
            url = stack.enter_context(bench._database(args.pg_admin))
            port = bench._free_port()
            if name == "peer":
                process = start_peer(url, port, args.workers)
            elif name == "ledger-before":
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                before = {**env, "PYTHONPATH": str(source_of(args.before, tmp))}
                process = start_ledger(url, port, args.workers, True, before)
            else:
                process = start_ledger(url, port, args.workers, name != "ledger-noproj", env)
            stack.callback(_stop, process)
            running[name] = Server(name, url, port, process)
        started = time.monotonic()
        for server in running.values():
            wait_up(server.port, server.process)
        # A ledger before 3 December imported the forecast's libraries in each
        # worker 20 s after its start (a few seconds of CPU): not during a figure.
        time.sleep(max(0.0, started + SETTLE - time.monotonic()))
        yield running


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- the run -----------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    wrk = ensure_wrk()
    create_body = json.dumps(bench.RECEIPT, ensure_ascii=False)
    verify_body = json.dumps(bench.VERIFY)
    runs: dict[str, list[dict[str, Any]]] = {}
    phases = args.phases.split(",")
    results: dict[str, Any] = {}
    with servers(args) as running, psycopg.connect(args.pg_admin, autocommit=True) as admin:
        ledgers = [s for n, s in running.items() if n != "peer"]
        peer = running["peer"]

        def figure(key: str, server: Server, script: str, connections: int | None = None) -> None:
            runs.setdefault(key, []).append(
                run_wrk(wrk, server, script, args.seconds, connections or args.connections, admin)
            )

        # Warm-up: connections, prepared statements, first imports.
        for server in running.values():
            run_wrk(wrk, server, get_script("/health", server.name != "peer"), 1, 4, admin)
            body = post_script("/orders", create_body, server.name != "peer")
            run_wrk(wrk, server, body, 1, 4, admin)
        for _ in range(args.rounds):
            if "health" in phases:
                figure("peer GET /health", peer, get_script("/health", False))
                for s in ledgers:
                    figure(f"{s.name} GET /health", s, get_script("/health", False))
                    if s.name != "ledger-before":
                        figure(f"{s.name} GET /health/live", s, get_script("/health/live", False))
            if "create" in phases:
                figure("peer POST /orders", peer, post_script("/orders", create_body, False))
                for s in ledgers:
                    figure(f"{s.name} POST /orders", s, post_script("/orders", create_body, True))
            if "follow" in phases:
                for s in ledgers:
                    figure(f"{s.name} create + verify", s, follow_script(create_body, verify_body))
        for key, figure_runs in runs.items():
            results[key] = merged(figure_runs)
        if "feed" in phases:
            heads = {s.name: _head(s.url) for s in ledgers}
            readers = sorted({1, args.feed_readers})
            feed_runs: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.rounds):
                for s in ledgers:
                    script = feed_script(heads[s.name], args.feed_limit)
                    for n in readers:
                        run = run_wrk(wrk, s, script, args.seconds, n, admin)
                        feed_runs.setdefault(_feed_key(s.name, n), []).append(run)
            for key, feed_figure_runs in feed_runs.items():
                results[key] = merged(feed_figure_runs, per_request=args.feed_limit)
                results[key]["log_events"] = heads[key.split(" ")[0]]
        if args.profile:
            results["profile"] = profile(wrk, running["ledger"], create_body, args, admin)
    return results


def _feed_key(server: str, readers: int) -> str:
    return f"{server} GET /events" + ("" if readers == 1 else f", {readers} readers")


def _head(url: str) -> int:
    base, _, _ = url.partition("?")
    with psycopg.connect(base) as conn:
        found = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.columns "
            "WHERE column_name = 'notification_id' AND table_name LIKE '%%events' "
            "ORDER BY table_name LIMIT 1"
        ).fetchone()
        if found is None:
            return 0
        query = sql.SQL("SELECT max(notification_id) FROM {0}").format(sql.Identifier(*found))
        row = conn.execute(query).fetchone()
    return int(row[0] or 0) if row else 0


# -- profiles ----------------------------------------------------------------


def ensure_py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if Path(found).exists():
        return found
    # From the project's own `bench` extra (pyproject.toml), into this venv.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"], check=True
    )
    return str(Path(sys.executable).with_name("py-spy"))


def profile(
    wrk: str, server: Server, create_body: str, args: argparse.Namespace, admin: Any
) -> dict[str, Any]:
    """One more create (or feed) phase on ledger, under py-spy and with
    PostgreSQL logging the bench database's statements."""
    py_spy = ensure_py_spy()
    if args.profile == "feed":
        script, connections = feed_script(_head(server.url), args.feed_limit), 1
    else:
        script, connections = post_script("/orders", create_body, True), args.connections
    out = ROOT / "bench" / f"profile-{args.profile}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    statements = _statement_log_start(admin, server)
    spy = subprocess.Popen(
        [py_spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--gil",
         "--format", "raw", "--rate", "200", "--output", str(out),
         "--duration", str(int(args.seconds) + 1)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(0.5)
    commit_before = _xacts(admin, server)
    run = run_wrk(wrk, server, script, args.seconds, connections, admin)
    commits = _xacts(admin, server) - commit_before
    spy.wait(timeout=60)
    counted = _statement_log_end(admin, server, statements, run["requests"])
    return {
        "requests": run["requests"],
        "transactions_per_request": round(commits / max(run["requests"], 1), 3),
        "py_spy": top_of(out) if out.exists() else {"error": _tail(spy)},
        "parts": parts_of(out, run["cpu_ms_per_request"]["server"]) if out.exists() else {},
        "statements": counted,
    }  # fmt: skip


def _tail(process: subprocess.Popen[bytes]) -> str:
    return process.stderr.read().decode()[-500:] if process.stderr else ""


def _xacts(admin: Any, server: Server) -> int:
    admin.execute("SELECT pg_stat_clear_snapshot()")
    row = admin.execute(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
        (server.dbname,),
    ).fetchone()
    return int(row[0])


def _statement_log_start(admin: Any, server: Server) -> dict[str, Any]:
    loaded = admin.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "pg_stat_statements" in loaded:
        with psycopg.connect(server.url.partition("?")[0], autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
        return {"how": "pg_stat_statements"}
    if not os.access(PG_LOG, os.R_OK):
        return {"how": "none"}
    admin.execute(f"ALTER DATABASE \"{server.dbname}\" SET log_statement = 'all'")
    # Sessions read the setting when they start: end the server's pooled
    # backends so that they reconnect with it (the pools reconnect by themselves).
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        (server.dbname,),
    )
    time.sleep(1)
    return {"how": "log", "offset": PG_LOG.stat().st_size}


_LOGGED = re.compile(r"LOG:\s+(?:statement|execute [^:]*):\s+(.*)$")


def _statement_log_end(admin: Any, server: Server, start: dict[str, Any], requests: int) -> Any:
    n = max(requests, 1)
    if start["how"] == "pg_stat_statements":
        with psycopg.connect(server.url.partition("?")[0]) as conn:
            rows = conn.execute(
                "SELECT calls, total_exec_time, query FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%%pg_stat_statements%%' ORDER BY total_exec_time DESC"
            ).fetchall()
        calls, spent = sum(r[0] for r in rows), sum(r[1] for r in rows) or 1.0
        return {"how": "pg_stat_statements", "per_request": round(calls / n, 2),
                "exec_ms_per_request": round(spent / n, 3), "top": [
            {"per_request": round(c / n, 3), "ms_per_call": round(t / max(c, 1), 4),
             "share_of_exec_time": round(100 * t / spent, 1), "query": _normal(q)[:120]}
            for c, t, q in rows[:15]
        ]}  # fmt: skip
    if start["how"] != "log":
        return {"how": "none"}
    admin.execute(f'ALTER DATABASE "{server.dbname}" RESET log_statement')
    counts: Counter[str] = Counter()
    marker = f"@{server.dbname} "
    with PG_LOG.open("rb") as f:
        f.seek(start["offset"])
        for raw in f:
            line = raw.decode("utf-8", "replace")
            if marker not in line:
                continue
            m = _LOGGED.search(line)
            if m:
                counts[_normal(m.group(1))] += 1
    total = sum(counts.values())
    return {
        "how": "log_statement = all on the bench database (pg_stat_statements is not loaded)",
        "per_request": round(total / n, 2),
        "top": [
            {"per_request": round(c / n, 3), "statement": s} for s, c in counts.most_common(15)
        ],
    }


def _normal(statement: str) -> str:
    s = re.sub(r"'[^']*'", "?", statement)
    s = re.sub(r"\b\d+\b", "N", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s[:140]


def top_of(raw: Path, count: int = 25) -> dict[str, Any]:
    """The top of a py-spy raw (collapsed) profile: functions by own samples
    and by samples under them."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        samples = int(n)
        total += samples
        frames = [_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        own[frames[-1]] += samples
        for f in set(frames):
            under[f] += samples

    def pct(c: int) -> float:
        return round(100 * c / max(total, 1), 1)

    return {
        "samples": total,
        "own": [(f, pct(c)) for f, c in own.most_common(count)],
        "inclusive": [(f, pct(c)) for f, c in under.most_common(count * 2)],
    }


# Where a sample's time goes, by the first of these frames its stack holds
# (most specific first): the parts of a request's CPU in the server.
PARTS = (
    ("projection runners (in the server's threads)", ("RunnerGroup._run", "Runner._run")),
    ("command: group-commit write (batch SQL, psycopg)", ("GroupCommit._write",)),
    ("command: waiting for / waking the batch", ("GroupCommit.save",)),
    ("command: encoding and sealing the events", ("PersonalDataMapper.to_stored_event",)),
    ("command: the order number", ("Ledger.allocate_number",)),
    ("command: the answer (JSON of the order)", ("order_response",)),
    ("command: validation and the aggregate (in its thread)", ("_WorkItem.run",)),
    ("webhooks, listeners, store watch, scheduler", ("WebhookRunner._run", "Waker._listen",
                                                     "StoreWatch._run", "BaseScheduler")),
    ("request handling on the event loop (uvicorn, Starlette, FastAPI, fast path)",
     ("subprocess_started",)),
)  # fmt: skip


def parts_of(raw: Path, server_ms: float) -> dict[str, Any]:
    """The samples by ``PARTS``, as shares and as ms of the server's CPU per request."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [f.split(" (", 1)[0] for f in stack.split(";")]
        part = next((name for name, marks in PARTS if any(m in frames for m in marks)), "other")
        counts[part] += int(n)
    total = sum(counts.values()) or 1
    return {name: {"share": round(100 * c / total, 1), "ms": round(server_ms * c / total, 3)}
            for name, c in counts.most_common()}  # fmt: skip


def _frame(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module path:line-free)"
    m = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    if path.startswith("process ") or func.startswith("process "):
        return ""
    path = re.sub(r".*/(site-packages|src)/", "", path)
    return f"{func} ({path})"


# -- report ------------------------------------------------------------------


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{'figure':<38} {'per s':>9} {'p50 ms':>13} {'p99 ms':>15} "
        f"{'cpu ms/req srv pg wrk':>24}  ratio"
    ]
    peer_health = results.get("peer GET /health", {}).get("per_s")
    peer_create = results.get("peer POST /orders", {})
    for key, r in results.items():
        if key == "profile":
            continue
        ratio = ""
        if "/health" in key and not key.startswith("peer") and peer_health:
            ratio = f"{r['per_s'] / peer_health:.2f}x peer /health"
        elif ("POST" in key or "verify" in key) and not key.startswith("peer") and peer_create:
            ratio = (
                f"{r['per_s'] / peer_create['per_s']:.2f}x peer create, "
                f"p99 {r['p99_ms'][1] / max(peer_create['p99_ms'][1], 0.001):.2f}x"
            )
        before = results.get(key.replace("ledger ", "ledger-before ", 1))
        if key.startswith("ledger ") and before:
            ratio += f"{'; ' if ratio else ''}{r['per_s'] / before['per_s']:.2f}x before"
        cpu = r["cpu_ms_per_request"]
        rate = r["items_per_s"] if "events" in key else r["per_s"]
        unit = " ev" if "events" in key else ""
        lines.append(
            f"{key:<38} {rate:>9}{unit} {r['p50_ms'][0]:>6}-{r['p50_ms'][1]:<6} "
            f"{r['p99_ms'][0]:>7}-{r['p99_ms'][1]:<7} "
            f"{cpu['server']:>7} {cpu['postgres']:>6} {cpu['wrk']:>6}  {ratio}"
            + (f"  errors {r['errors']}" if r["errors"] else "")
        )
    return lines


def profile_lines(p: dict[str, Any]) -> list[str]:
    lines = [f"profile: {p['requests']} requests, "
             f"{p['transactions_per_request']} transactions per request"]  # fmt: skip
    spy = p.get("py_spy", {})
    if "own" in spy:
        lines.append(f"py-spy, {spy['samples']} samples; own time:")
        lines += [f"  {pct:5.1f}%  {f}" for f, pct in spy["own"][:20]]
        lines.append("inclusive:")
        lines += [f"  {pct:5.1f}%  {f}" for f, pct in spy["inclusive"][:40]]
    if p.get("parts"):
        lines.append("the server's CPU per request by part (py-spy samples × CPU from /proc):")
        lines += [f"  {v['ms']:6.3f} ms {v['share']:5.1f}%  {k}" for k, v in p["parts"].items()]
    st = p.get("statements", {})
    lines.append(f"statements ({st.get('how')}): {st.get('per_request', '?')} per request")
    if "exec_ms_per_request" in st:
        lines.append(f"  executing them: {st['exec_ms_per_request']} ms per request; by time:")
    for row in st.get("top", []):
        share = f" {row['share_of_exec_time']:5.1f}% " if "share_of_exec_time" in row else ""
        lines.append(
            f"  {row['per_request']:7.3f}{share} {row.get('statement') or row.get('query')}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phases", default="health,create,follow,feed")
    parser.add_argument("--feed-limit", type=int, default=2000)
    parser.add_argument("--feed-readers", type=int, default=4, help="also with N readers at once")
    parser.add_argument("--no-projections-too", action="store_true",
                        help="also `ledger serve --no-projections`")  # fmt: skip
    parser.add_argument(
        "--profile", choices=["create", "feed"], help="py-spy and statement counts for one phase"
    )
    parser.add_argument(
        "--before", metavar="REF", help="also serve the ledger of commit REF (its src, same venv)"
    )
    parser.add_argument("--pool-size", type=int, help="LEDGER_POOL_SIZE for the ledger servers")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--out", default=str(ROOT / "bench" / "http.json"))
    args = parser.parse_args()
    started = time.monotonic()
    load = list(os.getloadavg())
    results = measure(args)
    lines = report(results)
    print("\n".join(lines))
    if "profile" in results:
        print("\n".join(profile_lines(results["profile"])))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {"cpus": os.cpu_count(), "load_average": [load, list(os.getloadavg())]},
        "config": vars(args),
        "results": results,
        "table": lines,
    }
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
