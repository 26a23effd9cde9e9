"""A 100,000-row export streams through a bounded amount of memory.

The backlog view of a SQLite store is filled with 100,000 stale orders
(rows made from one real order's facts, written straight into the view:
no runner, so nothing else moves), then the backlog is downloaded as CSV
and as XLSX from the ASGI app, each chunk counted and dropped as it
arrives. The figure is the process's resident memory high-water mark
(``VmHWM``, reset through ``/proc/self/clear_refs`` just before) above its
resident size before the download: Python's heap, SQLite's and
XlsxWriter's together. The backlog is the hardest listing: it is sorted by
lateness, not by anything the store indexes, so every row goes through the
sort spool.
"""

from __future__ import annotations

import asyncio
import csv
import ctypes
import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import openpyxl
import pytest
from api_client import TOKENS, Api
from eventsourcing.persistence import Tracking
from fastapi.testclient import TestClient

import loops
from ledger.api.app import create_app
from ledger.projections.facts import fold_facts, replace
from ledger.settings import Settings

pytestmark = pytest.mark.slow

ROWS = 100_000
BATCH = 5_000
MEMORY_BOUND = 64 * 2**20  # bytes of resident memory above the start (docs/exports.md)
NAMESPACE = UUID("6f1d2c7e-0000-4000-8000-000000000015")


def fill_backlog(app: Any, client: TestClient) -> None:
    api = Api(client)
    order = api.receive()
    ledger, worker = app.state.ledger, app.state.worker
    facts = None
    for event in ledger.events.get(UUID(order["id"])):
        facts = fold_facts(facts, event)
    assert facts is not None
    view = worker.views["backlog"]
    position = None
    for start in range(0, ROWS, BATCH):
        rows = {}
        for n in range(start, start + BATCH):
            key = str(uuid5(NAMESPACE, str(n)))
            quiet = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T08:00:00+00:00"
            rows[key] = replace(facts, order_id=key, number=f"SO-2025-{n:06d}",
                                customer=f"客户{n % 97}", last_event_at=quiet)  # fmt: skip
        view.write(rows, Tracking(ledger.name, start + BATCH), expected=position)
        position = start + BATCH


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("big") / "big.db"
    settings = Settings(database_url=f"sqlite:///{path}", tokens=TOKENS, run_projections=False)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=True) as client:
        fill_backlog(app, client)
        yield client


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def _settle_memory() -> int:
    """Give freed memory back to the system and restart the high-water mark."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def download(app: Any, query: str, each: Callable[[bytes], object]) -> tuple[int, float]:
    """GET /backlog?<query> straight from the ASGI app, ``each`` chunk handed on
    and dropped; returns (resident high-water mark above the start, seconds)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/backlog", "raw_path": b"/backlog", "root_path": "",
        "query_string": query.encode(), "server": ("testserver", 80), "client": ("t", 1),
        "headers": [(b"host", b"testserver"), (b"authorization", b"Bearer t-auditor")],
    }  # fmt: skip
    status: list[int] = []

    asked: list[bool] = []

    async def receive() -> dict[str, Any]:
        if asked:  # the response listens for a disconnect that never comes
            await asyncio.Event().wait()
        asked.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            each(message.get("body", b""))

    before = _settle_memory()
    started = time.monotonic()
    loops.run(app(scope, receive, send))
    seconds = time.monotonic() - started
    assert status == [200]
    return _status("VmHWM") - before, seconds


def test_a_hundred_thousand_row_csv_export_stays_within_the_memory_bound(
    big: TestClient,
) -> None:
    """Also in the backlog's order: the quietest orders first."""
    days: list[int] = []
    pending = [b""]

    def each(chunk: bytes) -> None:
        *lines, pending[0] = (pending[0] + chunk).split(b"\r\n")
        for line in lines:
            cell = next(csv.reader([line.decode("utf-8-sig")]))[15]
            days.append(int(cell) if cell.isdigit() else -1)  # -1: the header

    peak, seconds = download(big.app, "format=csv", each)
    assert days[0] == -1 and len(days) == ROWS + 1  # the header, then every row
    assert days[1:] == sorted(days[1:], reverse=True) and days[-1] > 0
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MB"
    print(f"CSV: {ROWS} rows in {seconds:.1f} s, resident peak +{peak / 2**20:.1f} MB")


def test_a_hundred_thousand_row_xlsx_export_stays_within_the_memory_bound(
    big: TestClient, tmp_path: Path
) -> None:
    target = (tmp_path / "backlog.xlsx").open("wb")
    with target:
        peak, seconds = download(big.app, "format=xlsx", target.write)
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MB"
    sheet = openpyxl.load_workbook(tmp_path / "backlog.xlsx", read_only=True).worksheets[0]
    assert sheet.max_row == ROWS + 1  # the header and every row
    rows = sheet.iter_rows(values_only=True, max_row=3)
    assert next(rows)[0] == "Order number"
    first = next(rows)
    assert str(first[0]).startswith("SO-2025-") and isinstance(first[15], int)  # days quiet
    print(f"XLSX: {ROWS} rows in {seconds:.1f} s, resident peak +{peak / 2**20:.1f} MB")
