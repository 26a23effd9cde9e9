"""A service with the demo's orders, for the export and printable-document tests.

The demo runs on a simulated clock that the service keeps, so "today" (what
is overdue, the files' dates) is the demo's last day on every run.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.settings import Settings

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from api_client import TOKENS, Api
from export_support import settled

UNTIL = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API on SQLite with 60 demo orders (every stage), caught up, alerts scanned."""
    path = tmp_path_factory.mktemp("exports") / "demo.db"
    settings = Settings(database_url=f"sqlite:///{path}", tokens=TOKENS, pool_size=2)
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
    ledger = Ledger(settings, clock)
    run_demo(ledger, clock, orders=60, seed=7, until=UNTIL, out=io.StringIO(), progress=None)
    app = create_app(settings, ledger=ledger)
    with TestClient(app, raise_server_exceptions=True) as client:
        settled(client)
        app.state.worker.scan_alerts()
        yield Api(client)
    ledger.close()
