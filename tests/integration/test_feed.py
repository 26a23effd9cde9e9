"""The change feed (``GET /events``) reads the log: pages from any position, of
any size, concatenate to the log as the application itself decodes it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from feed_support import ROLES, auth, oracle_log
from hypothesis import given
from hypothesis import strategies as st

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.integration.feed import MAX_LIMIT, Feed
from ledger.integration.personal import WITHHELD


@pytest.fixture(scope="module")
def client(populated: Ledger) -> Iterator[TestClient]:
    app = create_app(ledger=populated)
    # The runners without the scheduled jobs: the alert scan fires at every quarter
    # hour and would add events to the log after the oracle read it.
    worker = app.state.worker
    worker.start = partial(worker.start, schedule=False)
    with TestClient(app, raise_server_exceptions=True) as test_client:
        assert [job.id for job in worker.scheduler.get_jobs()] == ["watchdog"]
        yield test_client


@pytest.fixture(scope="module")
def log(populated: Ledger) -> list[dict[str, Any]]:
    return oracle_log(populated)


def read_all(
    client: TestClient, start: int, sizes: list[int], head: int, **params: Any
) -> list[dict[str, Any]]:
    """Pages from ``start``, each of the next size in turn, until ``next`` is the head."""
    collected: list[dict[str, Any]] = []
    position, turn = start, 0
    while position < head:
        size = sizes[turn % len(sizes)]
        response = client.get("/events", params={"after": position, "limit": size, **params},
                              headers=auth("auditor"))  # fmt: skip
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["events"]) <= size
        assert page["next"] > position  # always moves on before the end
        collected += page["events"]
        position, turn = page["next"], turn + 1
    return collected


TYPE_CHOICES: list[tuple[str, ...]] = [
    (),
    ("OrderReceived",),
    ("ShipmentDispatched", "alert.overdue", "alert.cleared"),
    ("ComplaintFiled", "ShipmentDelivered", "PersonalDataErased"),
]


@given(data=st.data())
def test_pages_from_any_position_and_of_any_size_concatenate_to_the_log(
    client: TestClient, log: list[dict[str, Any]], data: st.DataObject
) -> None:
    head = log[-1]["position"]
    start = data.draw(st.integers(0, head), label="start")
    sizes = data.draw(st.lists(st.integers(5, 80), min_size=1, max_size=8), label="sizes")
    types = data.draw(st.sampled_from(TYPE_CHOICES), label="types")
    params = {"types": ",".join(types)} if types else {}
    read = read_all(client, start, sizes, head, **params)
    expected = [e for e in log if e["position"] > start and (not types or e["type"] in types)]
    assert read == expected


@given(data=st.data())
def test_one_orders_pages_are_its_events_and_alerts_in_log_order(
    client: TestClient, log: list[dict[str, Any]], data: st.DataObject
) -> None:
    head = log[-1]["position"]
    order = data.draw(st.sampled_from(sorted({e["order_id"] for e in log})), label="order")
    by = data.draw(st.sampled_from(["id", "number"]), label="by")
    ref = order if by == "id" else next(e["number"] for e in log if e["order_id"] == order)
    sizes = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=4), label="sizes")
    read = read_all(client, 0, sizes, head, order=ref)
    assert read == [e for e in log if e["order_id"] == order]


def test_the_log_holds_what_the_feed_must_show(log: list[dict[str, Any]]) -> None:
    """The oracle's log is rich enough for the tests above to mean something."""
    kinds = {e["type"] for e in log}
    assert {"OrderReceived", "OrderSplit", "OrderMerged", "ComplaintFiled", "ShipmentDelivered",
            "PersonalDataErased", "alert.overdue", "alert.transit_exception",
            "alert.cleared"} <= kinds  # fmt: skip
    erased = [e for e in log if e["type"] == "OrderReceived"
              and e["payload"]["customer"]["phone"] == "[erased]"]  # fmt: skip
    opened = [e for e in log if e["type"] == "OrderReceived"
              and e["payload"]["customer"]["phone"] not in ("", "[erased]")]  # fmt: skip
    assert erased and opened


def test_every_role_reads_the_feed_with_personal_fields_as_orders_show_them(
    client: TestClient, log: list[dict[str, Any]]
) -> None:
    received = next(e for e in log if e["type"] == "OrderReceived"
                    and e["payload"]["customer"]["phone"] not in ("", "[erased]"))  # fmt: skip
    for role in ROLES:
        page = client.get("/events", params={"after": received["position"] - 1, "limit": 1},
                          headers=auth(role)).json()  # fmt: skip
        assert page["events"] == [received]
        order = client.get(f"/orders/{received['order_id']}", headers=auth(role)).json()
        assert order["customer"] == received["payload"]["customer"]


def test_a_reader_without_personal_rights_would_see_them_withheld(populated: Ledger) -> None:
    feed = Feed(populated)
    items = feed.read(0, MAX_LIMIT, types=("OrderReceived",), opened=False).events
    customers = [e["payload"]["customer"] for e in items]
    assert customers and all(c["phone"] in (WITHHELD, "") for c in customers)
    assert any(c["phone"] == WITHHELD for c in customers)
    assert all(c["name"] for c in customers)  # the customer's name is not sealed


def test_refusals_are_clear_and_change_nothing(
    client: TestClient, log: list[dict[str, Any]]
) -> None:
    head = log[-1]["position"]
    cases = {
        ("after", head + 1): (422, "position_not_in_log"),
        ("limit", MAX_LIMIT + 1): (422, "invalid_input"),
        ("limit", 0): (422, "invalid_input"),
        ("types", "OrderReceived,Nonsense"): (422, "unknown_event_type"),
        ("order", "SO-1999-000001"): (404, "order_not_found"),
    }
    for (name, value), (status, code) in cases.items():
        response = client.get("/events", params={name: value}, headers=auth("sales"))
        assert (response.status_code, response.json()["code"]) == (status, code), name
    assert client.get("/events").status_code == 401
    assert client.get("/events", params={"limit": 1}, headers=auth("sales")).json()["next"] == 1
