"""`ledger serve` runs the read models and jobs in a child process
(`ledger project`) on PostgreSQL (and on SQLite when asked): started with
the server, started again when it dies, gone when the server is gone; on
SQLite they stay in the worker unless asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from api_client import TOKENS, Api, receipt

LEDGER = str(Path(sys.executable).with_name("ledger"))
CHILD_MARK = "main(['project'])"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _projectors(server_pid: int) -> list[int]:
    """The server's children that are `ledger project` (of any of its threads:
    the child started again is the watching thread's)."""
    children = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    found = []
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if CHILD_MARK in command:
            found.append(child)
    return found


def _until(condition: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s")


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'served.db'}"


@contextmanager
def _served(url: str, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], Api]]:
    port = _free_port()
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_TOKENS": json.dumps(TOKENS)}
    server = subprocess.Popen(
        [LEDGER, "serve", "--port", str(port), "--no-access-log", *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def healthy() -> bool:
                assert server.poll() is None, "ledger serve exited early"
                try:
                    return client.get("/health").status_code == 200
                except httpx.TransportError:
                    return False

            _until(healthy, 30)
            yield server, Api(client)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def _on_board(api: Api, number: str) -> bool:
    board = api.get("/board").json()
    return any(card["number"] == number for column in board["columns"] for card in column["cards"])


def _runners(api: Api) -> set[str]:
    return {p["runner"] for p in api.get("/admin/projections", as_="admin").json()["projections"]}


@pytest.mark.postgres
def test_on_postgres_the_read_models_run_in_a_child_restarted_and_ended_with_the_server(
    postgres_url: str,
) -> None:
    with _served(postgres_url) as (server, api):
        _until(lambda: len(_projectors(server.pid)) == 1)
        (child,) = _projectors(server.pid)
        assert _runners(api) == {"elsewhere"}  # none in the worker
        first = api.ok("/orders", receipt(), as_="sales")
        _until(lambda: _on_board(api, first["number"]))

        os.kill(child, signal.SIGKILL)
        _until(lambda: _projectors(server.pid) not in ([], [child]))
        (again,) = _projectors(server.pid)
        second = api.ok("/orders", receipt(), as_="sales")
        _until(lambda: _on_board(api, second["number"]))

        server.kill()  # no stop of its own: the child notices its parent is gone
        server.wait(10)
        _until(lambda: not Path(f"/proc/{again}").exists() or _zombie(again), 10)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_stopped_server_stops_its_child_and_says_where_the_read_models_run(
    tmp_path: Path,
) -> None:
    with _served(_sqlite(tmp_path), "--projections", "child") as (server, api):
        order = api.ok("/orders", receipt(), as_="sales")
        _until(lambda: _on_board(api, order["number"]))  # SQLite: found by polling
        assert _runners(api) == {"elsewhere"}
        _until(lambda: len(_projectors(server.pid)) == 1)
        (child,) = _projectors(server.pid)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output.decode()
    assert f"read models and jobs: `ledger project` (pid {child})".encode() in output
    assert not Path(f"/proc/{child}").exists() or _zombie(child)


@pytest.mark.parametrize("options", [(), ("--projections", "workers")], ids=["auto", "workers"])
def test_on_sqlite_they_stay_in_the_worker_unless_asked(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    with _served(_sqlite(tmp_path), *options) as (server, api):
        order = api.ok("/orders", receipt(), as_="sales")
        _until(lambda: _on_board(api, order["number"]))
        assert _runners(api) == {"running"}
        assert _projectors(server.pid) == []
