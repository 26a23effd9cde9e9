"""`ledger serve` as a real process: one order from received to archived over TCP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_client import LIFECYCLE, TOKENS, Api, receipt

from ledger.cli import main

LEDGER = str(Path(sys.executable).with_name("ledger"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "ledger serve exited early"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("ledger serve did not become healthy in 30 s")


@pytest.mark.slow
def test_ledger_serve_takes_an_order_through_its_whole_life(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "LEDGER_TOKENS": json.dumps(TOKENS),
    }
    server = subprocess.Popen(
        [LEDGER, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server)
        with httpx.Client(base_url=url, timeout=10) as client:
            api = Api(client)
            order = api.ok("/orders", receipt(), as_="sales")
            for stage, role, path, body in LIFECYCLE:
                order = api.ok(path.format(id=order["id"]), body, as_=role)
                assert order["stage"] == stage
            assert api.get(f"/orders/{order['id']}").json()["stage"] == "archived"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output.decode()
    assert b"Application shutdown complete" in output
    assert f"the pages (progress board): {url}/ui/board".encode() in output


def test_serve_refuses_postgres_without_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.settings import get_settings

    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        assert main(["serve"]) == 2
    finally:
        get_settings.cache_clear()
    assert "LEDGER_TOKENS" in capsys.readouterr().err


def _connections_by_worker(server_pid: int, port: int) -> dict[int, int]:
    """Established connections to ``port`` held by each worker (a child of
    ``server_pid`` listening on it), from /proc: socket inodes by state, found
    among each process's fds. A process or fd that goes while it is read
    holds nothing (a killed worker's fds vanish under the reader)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    by_state: dict[str, set[str]] = {"01": set(), "0A": set()}  # established, listening
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in by_state:
                by_state[fields[3]].add(fields[9])
    counts: dict[int, int] = {}
    for child in map(int, children):
        inodes = set()
        try:
            fds = list(Path(f"/proc/{child}/fd").iterdir())
        except FileNotFoundError:  # gone since the list was read (the killed worker)
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except FileNotFoundError:  # closed, or its process ended, meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        if inodes & by_state["0A"]:
            counts[child] = len(inodes & by_state["01"])
    return counts


def _keep_alive_calls(port: int, count: int) -> list[socket.socket]:
    """``count`` connections, each answering one GET /health (within 10 s)."""
    connections = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200"), "a connection was not answered"
        connections.append(sock)
    return connections


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_with_two_workers_spreads_connections_and_survives_a_worker_killed(
    postgres_url: str,
) -> None:
    port = _free_port()
    env = {**os.environ, "LEDGER_DATABASE_URL": postgres_url, "LEDGER_TOKENS": json.dumps(TOKENS)}
    server = subprocess.Popen(
        [LEDGER, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server)
        deadline = time.monotonic() + 30  # both workers started
        while len(_connections_by_worker(server.pid, port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        connections = _keep_alive_calls(port, 32)
        spread = _connections_by_worker(server.pid, port)
        assert sorted(spread.values())[0] >= 4, f"connections by worker: {spread}"
        assert sum(spread.values()) == 32
        for sock in connections:
            sock.close()
        victim = min(spread)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30  # uvicorn starts another worker
        while time.monotonic() < deadline:
            workers = _connections_by_worker(server.pid, port)
            if victim not in workers and len(workers) == 2:
                break
            time.sleep(0.2)
        assert victim not in workers and len(workers) == 2
        _wait_until_healthy(url, server)
        connections = _keep_alive_calls(port, 32)  # none lands on the dead worker's socket
        spread = _connections_by_worker(server.pid, port)
        assert sum(spread.values()) == 32 and min(spread.values()) >= 1, spread
        for sock in connections:
            sock.close()
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output.decode()


def test_a_served_app_freezes_its_start_up_heap_and_collects_less_often_and_a_test_app_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from fastapi.testclient import TestClient

    from ledger.api.app import create_app, serve_app
    from ledger.collection import SERVED_THRESHOLD
    from ledger.settings import Settings, get_settings

    gc.unfreeze()
    threshold = gc.get_threshold()
    with TestClient(create_app(Settings(database_url="memory://", tokens=TOKENS))) as client:
        assert client.get("/health/live").status_code == 200
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == threshold
    monkeypatch.setenv("LEDGER_DATABASE_URL", "memory://")
    monkeypatch.setenv("LEDGER_TOKENS", json.dumps(TOKENS))
    get_settings.cache_clear()
    try:
        with TestClient(serve_app()) as client:
            assert client.get("/health/live").status_code == 200
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == SERVED_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        get_settings.cache_clear()
