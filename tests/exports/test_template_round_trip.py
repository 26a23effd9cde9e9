"""The round trip: the demo's board exported as the import template and
imported into an empty store makes the same board, for what an order file carries.

An order file carries what an order is received with: customer, delivery,
channel, currency, requested date and lines. It does not carry what
happened to the order since (a confirmation, shipments, invoices), so every
imported order is at ``received``. "The board equals the original's" is
then, card by card (matched by customer reference = the original's number):

- the same cards: one per card of the original, all in ``received``;
- on every card, what the file carries and a card shows: customer,
  currency, total;
- the cards of the orders still at ``received`` in the original equal
  field for field, but for what is the store's and not the order's: the
  id and number the store gives, when it recorded the order (``created_at``,
  ``last_event_at``), how many events it took (``version``), and the alerts
  (they come from the order's age);
- every order's own facets (customer, delivery, channel, currency,
  requested date, lines with quantities, unit prices and amounts), read
  from each store's JSON, are equal.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from api_client import TOKENS, Api
from export_support import get, settled
from fastapi.testclient import TestClient
from psycopg import sql

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.settings import Settings
from pg_databases import admin_connection

ORDERS = 40
UNTIL = date(2026, 6, 30)
# What a card holds that is the store's, not the order's (see the module).
STORES_OWN = ("order_id", "number", "created_at", "last_event_at", "version", "alerts")
CARRIED = ("channel", "customer", "delivery", "currency", "requested_date")
LINE_FIELDS = ("sku", "name", "model", "spec", "quantity", "unit_price", "amount")


@contextmanager
def service(url: str, clock: SimulatedClock, *, demo: bool) -> Iterator[Api]:
    settings = Settings(database_url=url, tokens=TOKENS, pool_size=2)
    ledger = Ledger(settings, clock)
    try:
        if demo:
            run_demo(ledger, clock, orders=ORDERS, seed=15, until=UNTIL, out=io.StringIO(),
                     progress=None)  # fmt: skip
        with TestClient(create_app(settings, ledger=ledger), raise_server_exceptions=True) as c:
            settled(c)
            yield Api(c)
    finally:
        ledger.close()


@contextmanager
def store_urls(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Two empty stores of ``backend``: the original and the copy."""
    if backend == "sqlite":
        yield [f"sqlite:///{quote(str(tmp_path / name))}" for name in ("original.db", "copy.db")]
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        yield [f"{dsn}?schema={schema}" for schema in schemas]
    finally:
        with admin_connection(dsn.rsplit("/", 1)[1]) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(
                    sql.Identifier(schema)))  # fmt: skip


def upload(api: Api, data: bytes, *, commit: bool) -> httpx.Response:
    params = {"commit": "true"} if commit else {}
    files = {"file": ("orders", data)}
    return api.client.post("/imports", params=params, files=files, headers=api.auth("sales"))


def cards(api: Api) -> dict[str, dict[str, Any]]:
    board = get(api, "/board", limit=500).json()
    found = {card["number"]: card for column in board["columns"] for card in column["cards"]}
    assert len(found) == sum(column["count"] for column in board["columns"]), "one page each"
    return found


def carried(api: Api, order_id: str) -> dict[str, Any]:
    """The order's facets an order file carries, from its JSON."""
    order = get(api, f"/orders/{order_id}").json()
    lines = [{key: line[key] for key in LINE_FIELDS} for line in order["lines"]]
    return {**{key: order[key] for key in CARRIED}, "lines": lines}


def without(card: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in card.items() if key not in keys}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "fmt", "lang"),
    [
        ("sqlite", "xlsx", "en"),
        ("sqlite", "csv", "zh"),
        pytest.param("postgres", "xlsx", "zh", marks=pytest.mark.postgres),
    ],
)
def test_the_boards_orders_exported_as_the_template_make_the_same_board_in_an_empty_store(
    backend: str, fmt: str, lang: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
    with store_urls(backend, tmp_path, request) as (original_url, copy_url):
        with service(original_url, clock, demo=True) as original:
            exported = original.client.get(
                "/board", params={"format": f"template-{fmt}"},
                headers={**original.auth("auditor"), "Accept-Language": lang},
            )  # fmt: skip
            assert exported.status_code == 200, exported.text
            before = cards(original)
            facets = {number: carried(original, c["order_id"]) for number, c in before.items()}
        # The copy starts where the demo ended, so the same day is "today" on both boards.
        with service(copy_url, SimulatedClock(clock.now()), demo=False) as copy:
            assert cards(copy) == {}
            numbers = _imported(copy, exported.content, before, facets)
            settled(copy.client)
            after = cards(copy)
            _same_board(before, after, numbers)
            for ref, number in numbers.items():
                assert carried(copy, after[number]["order_id"]) == facets[ref], ref


def _imported(
    copy: Api, data: bytes, before: dict[str, Any], facets: dict[str, Any]
) -> dict[str, str]:
    """Check (clean), commit, and commit again (nothing new); the copy's numbers by reference."""
    lines = sum(len(order["lines"]) for order in facets.values())
    dry = upload(copy, data, commit=False)
    assert dry.status_code == 200 and dry.json()["problems"] == [], dry.text
    summary = dry.json()["summary"]
    assert dry.json()["valid"] and summary["orders"] == summary["valid_orders"] == len(before)
    assert summary["rows"] == summary["lines"] == lines
    committed = upload(copy, data, commit=True)
    assert committed.status_code == 201, committed.text
    assert committed.json()["summary"]["recorded"] == len(before)
    again = upload(copy, data, commit=True)
    assert again.status_code == 200 and again.json()["summary"]["already_recorded"] == len(before)
    return {order["customer_ref"]: order["number"] for order in committed.json()["orders"]}


def _same_board(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], numbers: dict[str, str]
) -> None:
    assert sorted(numbers) == sorted(before) and len(after) == len(before)
    assert {card["stage"] for card in after.values()} == {"received"}
    received = [ref for ref, card in before.items() if card["stage"] == "received"]
    assert received and len(received) < len(before), "the demo has orders at every stage"
    for ref, card in before.items():
        copied = after[numbers[ref]]
        for key in ("customer", "currency", "total"):
            assert copied[key] == card[key], (ref, key)
    for ref in received:
        assert without(after[numbers[ref]], STORES_OWN) == without(before[ref], STORES_OWN), ref
