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
