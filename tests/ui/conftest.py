"""The real server on demo data, and Debian's Chromium driven by Playwright.

One ``ledger serve`` process and one browser serve every test of the module
(the demo takes a second, the server three). Without Chromium or Playwright
the tests skip and say why — except under ``CI=true``, where they fail.
Screenshots go to ``$LEDGER_UI_SCREENSHOTS`` when it is set (``docs/screenshots``
refreshes the ones docs/ui.md shows), else to a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from ui_support import PAGE_TOKEN, RECEIPT, TOKEN, Server

from ledger.api.app import create_app
from ledger.settings import Settings

LEDGER = str(Path(sys.executable).with_name("ledger"))
TOKENS = {
    "ui-merchandiser": {"role": "merchandiser", "name": "王芳"},
    "ui-auditor": {"role": "auditor", "name": "audit-lee"},
    "ui-admin": {"role": "admin", "name": "ops"},
    "ui-warehouse": {"role": "warehouse", "name": "仓库-李"},
    "ui-finance": {"role": "finance", "name": "财务-陈"},
}
DEMO = ["--orders", "120", "--seed", "3", "--until", "2026-11-27"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n`` (``scripts/test``), every test of the served demo
    and the browser runs in one worker, so they are started once."""
    for item in items:
        if {"server", "browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("browser"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI=true: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    assert path is not None
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    """Healthy, and every projection has caught up with the demo's events."""
    deadline = time.monotonic() + 30
    admin = {"Authorization": "Bearer ui-admin"}
    while time.monotonic() < deadline:
        assert server.poll() is None, "ledger serve exited early"
        try:
            status = httpx.get(f"{url}/admin/projections", headers=admin, timeout=2)
            if status.status_code == 200 and all(
                p["lag_events"] == 0 for p in status.json()["projections"]
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("ledger serve did not catch up in 30 s")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("ui-server")
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{home / 'ui.db'}",
        "LEDGER_TOKENS": json.dumps(TOKENS),
    }
    subprocess.run([LEDGER, "demo", *DEMO], env=env, check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [LEDGER, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
            yield Server(url, api)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any, server: Server) -> Iterator[Callable[..., Any]]:
    """``open_page(signed_in=True, **context_options)``: a tab in a fresh context."""
    contexts: list[Any] = []

    def open_(*, signed_in: bool = True, token: str = TOKEN, lang: str = "", **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1440, "height": 900})
        options.setdefault("locale", "en-GB")
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        if signed_in:
            cookie = {"name": "ledger_token", "value": token, "url": f"{server.url}/ui"}
            context.add_cookies([cookie])
        if lang:
            context.add_cookies([{"name": "ledger_lang", "value": lang, "url": f"{server.url}/ui"}])
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("LEDGER_UI_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The pages through the ASGI app (no browser) on each store, with one order,
    signed in by cookie; a 500 comes back as a response, for the test to see."""
    tokens = {PAGE_TOKEN: {"role": "merchandiser", "name": "王芳"}}
    app = create_app(Settings(database_url=database_url, tokens=tokens))
    with TestClient(app, raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {PAGE_TOKEN}"}
        assert client.post("/orders", json=RECEIPT, headers=auth).status_code == 201
        client.cookies.set("ledger_token", PAGE_TOKEN, domain="testserver.local", path="/ui")
        yield client
