"""Fixtures of the API tests: the app built by ``create_app`` on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from api_client import TOKENS, Api
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.settings import Settings


def _client(app: FastAPI) -> Iterator[Api]:
    # raise_server_exceptions: an unhandled error fails the test instead of becoming a 500.
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client)


@pytest.fixture
def any_backend_api(database_url: str) -> Iterator[Api]:
    """The API on memory, SQLite and PostgreSQL in turn."""
    app = create_app(Settings(database_url=database_url, tokens=TOKENS, pool_size=2))
    yield from _client(app)


@pytest.fixture(params=["memory", "sqlite"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The API on the embedded stores (the full matrix runs in the lifecycle tests)."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{quote(str(tmp_path / 'l.db'))}"
    app = create_app(Settings(database_url=url, tokens=TOKENS))
    yield from _client(app)


@pytest.fixture
def app() -> FastAPI:
    """An in-memory app, for tests that inspect or patch it."""
    return create_app(Settings(database_url="memory://", tokens=TOKENS))
