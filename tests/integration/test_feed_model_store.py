"""The feed's read model in each store: it never holds personal data in clear,
erasing a customer needs no rewrite of it, and the worker runs and rebuilds
it like every read model."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from feed_support import TOKENS
from psycopg import sql

from ledger.application import Ledger
from ledger.audit.erasure import erase_customer
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.integration.feed import MAX_LIMIT, Feed
from ledger.integration.feed_kept import FeedStore
from ledger.integration.feed_model import FEED
from ledger.projections.framework import Source, View, catch_up
from ledger.projections.runner import open_view
from ledger.settings import Settings
from ledger.worker import Worker, chosen_models
from pg_databases import admin_connection

PERSONAL = {
    "customer": ("phone", "email", "address"),
    "delivery": ("address", "consignee", "phone"),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A small demo's store of this test's own."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'ledger.db'}", ""
    else:
        schema = f"feedm_{uuid.uuid4().hex[:12]}"
        url = f"{request.getfixturevalue('postgres_dsn')}?schema={schema}"
    clock = SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC))
    ledger = Ledger(Settings(database_url=url, tokens=TOKENS, pool_size=2), clock)
    run_demo(ledger, clock, orders=8, seed=5, until=date(2026, 3, 31), out=io.StringIO(),
             progress=None)  # fmt: skip
    yield ledger
    ledger.close()
    if schema:
        dsn: str = request.getfixturevalue("postgres_dsn")
        with admin_connection(dsn.rsplit("/", 1)[1]) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema))
            )


def projected(ledger: Ledger) -> View[Any]:
    view = open_view(ledger, FEED, "feed_store_test")
    catch_up(view, Source.of(ledger))
    return view


def stored_text(view: View[Any]) -> str:
    """Every byte the model's table holds, as text."""
    return "\n".join(f"{row.item}\t{row.sealed}" for row in view.select())


def personal_values(items: list[dict[str, Any]]) -> set[str]:
    """The personal fields shown, but for customers' names (not sealed: a
    consignee may be the customer)."""
    values: set[str] = set()
    for item in items:
        for group, names in PERSONAL.items():
            fields = item["payload"].get(group) or {}
            values |= {fields[key] for key in names if fields.get(key)}
    customers = {item["payload"]["customer"]["name"] for item in items}
    return values - customers - {"[erased]"}


def test_the_model_holds_no_personal_field_in_clear(ledger: Ledger) -> None:
    view = projected(ledger)
    store: FeedStore = view  # type: ignore[assignment]
    page = Feed(ledger, store=store).read(0, MAX_LIMIT, types=("OrderReceived",))
    assert page.kept and not page.decoded
    values = personal_values(page.events)
    assert len(values) > 5
    text = stored_text(view)
    assert not [value for value in values if value in text]


def test_after_erasure_the_feed_reads_erased_from_the_same_rows(ledger: Ledger) -> None:
    view = projected(ledger)
    store: FeedStore = view  # type: ignore[assignment]
    received = Feed(ledger, store=store).read(0, MAX_LIMIT, types=("OrderReceived",)).events
    item = next(e for e in received if e["payload"]["customer"]["phone"])
    customer = item["payload"]["customer"]
    before = stored_text(view)

    erase_customer(ledger, customer["name"])

    page = Feed(ledger, store=store).read(item["position"] - 1, 1)
    assert page.kept and not page.decoded
    shown = page.events[0]["payload"]
    for group, names in PERSONAL.items():
        for name in names:
            was = item["payload"][group][name]
            assert shown[group][name] == ("[erased]" if was else "")
    assert stored_text(view).startswith(before)  # nothing rewritten (the erasure events added)
    decoded = Feed(ledger).read(item["position"] - 1, 1).events
    assert page.events == decoded


def test_the_worker_runs_and_rebuilds_the_feed_like_every_read_model(ledger: Ledger) -> None:
    assert "feed" in chosen_models(None)
    worker = Worker(ledger)
    worker.rebuild("feed")
    store: FeedStore = worker.views["feed"]  # type: ignore[assignment]
    kept = Feed(ledger, store=store).read(0, MAX_LIMIT)
    assert kept.kept and not kept.decoded
    assert kept.json() == Feed(ledger).read(0, MAX_LIMIT).json()
    status = {row["name"]: row for row in worker.status()}["feed"]
    assert status["rows"] == len(kept.kept) and status["lag_events"] == 0
