"""Readiness under many connections: concurrent ``GET /health`` requests of
one process share the store query in flight (``routes.health.StoreProbe``),
and each answer still says what the store said."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

import loops
from ledger.api.app import create_app
from ledger.settings import Settings

TOKENS = {"t": {"role": "admin", "name": "ops"}}


def slow(recorder: object, answer: Callable[[], int], calls: list[int]) -> Callable[[], int]:
    """The store's own query, counted and taking 50 ms longer."""

    def query() -> int:
        calls.append(threading.get_ident())
        time.sleep(0.05)
        return answer()

    return query


async def many(app: object, count: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
        return list(await asyncio.gather(*(client.get("/health") for _ in range(count))))


def test_concurrent_readiness_checks_share_one_query_and_report_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=f"sqlite:///{quote(str(tmp_path / 'h.db'))}", tokens=TOKENS)
    app = create_app(settings)
    recorder = app.state.ledger.recorder
    calls: list[int] = []
    monkeypatch.setattr(
        recorder, "max_notification_id", slow(recorder, recorder.max_notification_id, calls)
    )
    answers = loops.run(many(app, 40))
    assert [a.status_code for a in answers] == [200] * 40
    assert {a.json()["status"] for a in answers} == {"ok"}
    assert 1 <= len(calls) <= 4, f"{len(calls)} store queries for 40 checks"

    def refused() -> int:
        calls.append(0)
        raise OSError("connection refused")

    monkeypatch.setattr(recorder, "max_notification_id", refused)
    answers = loops.run(many(app, 10))
    assert [a.status_code for a in answers] == [503] * 10
    assert {a.json()["status"] for a in answers} == {"unavailable"}

    monkeypatch.setattr(recorder, "max_notification_id", lambda: 0)  # back: no stale failure
    assert [a.status_code for a in loops.run(many(app, 3))] == [200] * 3
    app.state.ledger.close()
