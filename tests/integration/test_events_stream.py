"""``GET /events/stream`` over real HTTP (uvicorn on a loopback port): events
as Server-Sent Events with ``id:`` = position, resumed from ``Last-Event-ID``
or ``?after=``, heartbeats while quiet, and a client that stops reading is
dropped without slowing the others."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from feed_support import TOKENS, auth, receipt, uvicorn_serving

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.order import Order
from ledger.aggregates.values import Customer, Delivery, Line
from ledger.api.app import create_app
from ledger.application import Ctx, Ledger, order_id_for
from ledger.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[tuple[FastAPI, str]]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    app = create_app(Settings(database_url=url, tokens=TOKENS, run_projections=False,
                              pool_size=4))  # fmt: skip
    with uvicorn_serving(app) as base:
        yield app, base


class Reader:
    """Reads one stream in a thread: each event's id and data, and comment lines."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, **params: Any) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.comments: list[str] = []
        self.status = 0
        self._stop = threading.Event()
        params.setdefault("heartbeat", 0.2)  # so that ``close`` is not kept waiting
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}, params))
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str], params: dict[str, Any]) -> None:
        with httpx.stream("GET", f"{url}/events/stream", params=params, timeout=30,
                          headers={**auth("auditor"), **headers}) as response:  # fmt: skip
            self.status = response.status_code
            event_id = None
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    assert event_id is not None
                    self.events.append((event_id, json.loads(line[6:])))
                elif line.startswith(":"):
                    self.comments.append(line)

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{len(self.events)} of {count} events"
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def write_orders(ledger: Ledger, count: int) -> list[int]:
    """``count`` orders received in process; their positions."""
    line = Line("A-100", "保溫杯", 3, __import__("decimal").Decimal("100.00"))
    return [
        ledger.receive(Ctx(actor="test"), channel="email", customer=Customer("華東五金"),
                       lines=[line], delivery=Delivery("上海", "王小明")).position or 0
        for _ in range(count)
    ]  # fmt: skip


def test_events_arrive_with_their_positions_and_a_stream_resumes_after_the_last_id(
    served: tuple[FastAPI, str],
) -> None:
    app, base = served
    with httpx.Client(base_url=base, headers=auth("sales")) as http:
        first = [http.post("/orders", json=receipt()).json()["position"] for _ in range(3)]
    reader = Reader(base, after=0)
    reader.wait_for(3)
    more = write_orders(app.state.ledger, 2)  # while it listens
    reader.wait_for(5)
    reader.close()
    assert [i for i, _ in reader.events] == first + more
    assert all(i == e["position"] and e["type"] == "OrderReceived" for i, e in reader.events)
    assert reader.events[0][1]["payload"]["customer"]["phone"] == "021-5555-0101"
    later = write_orders(app.state.ledger, 2)  # while nobody listens
    resumed = Reader(base, headers={"Last-Event-ID": str(first[1])})
    resumed.wait_for(5)
    resumed.close()
    assert [i for i, _ in resumed.events] == [first[2], *more, *later]


def test_a_quiet_stream_sends_heartbeats_and_filters_by_type_and_order(
    served: tuple[FastAPI, str],
) -> None:
    app, base = served
    with httpx.Client(base_url=base, headers=auth("sales")) as http:
        order = http.post("/orders", json=receipt()).json()
        reader = Reader(base, heartbeat=0.2, types="OrderVerified", order=order["number"])
        deadline = time.monotonic() + 20
        while len(reader.comments) < 2:  # quiet: heartbeats only
            assert time.monotonic() < deadline and not reader.events
            time.sleep(0.05)
        write_orders(app.state.ledger, 2)  # other orders, and not verifications
        checks = {"checks": {"customer": True, "product": True, "delivery": True}}
        verified = http.post(f"/orders/{order['id']}/verify", json=checks).json()
    reader.wait_for(1)
    reader.close()
    assert [(i, e["type"]) for i, e in reader.events] == [(verified["position"], "OrderVerified")]
    assert all(c == ": heartbeat" for c in reader.comments)


def test_refusals_come_before_the_stream_starts(served: tuple[FastAPI, str]) -> None:
    _, base = served
    with httpx.Client(base_url=base, headers=auth("sales")) as http:
        cases: list[tuple[dict[str, Any], dict[str, str], int, str]] = [
            ({"types": "Nope"}, {}, 422, "unknown_event_type"),
            ({"after": 5}, {}, 422, "position_not_in_log"),
            ({}, {"Last-Event-ID": "7"}, 422, "position_not_in_log"),
            ({}, {"Last-Event-ID": "x"}, 422, "invalid_input"),
            ({"order": "SO-1999-000009"}, {}, 404, "order_not_found"),
        ]
        for params, headers, status, code in cases:
            response = http.get("/events/stream", params=params, headers=headers)
            assert (response.status_code, response.json()["code"]) == (status, code), params
        assert httpx.get(f"{base}/events/stream").status_code == 401


def test_a_client_that_stops_reading_is_dropped_and_never_slows_the_others(
    served: tuple[FastAPI, str],
) -> None:
    app, base = served
    tail = app.state.feed_tail
    tail.buffer, tail.stall = 100_000, 1.0  # only a stalled write drops a client here
    stalled = _stalled_client(base)
    fast = Reader(base, after=0)
    deadline = time.monotonic() + 20
    while tail.listeners < 2:
        assert time.monotonic() < deadline, "the clients did not both start"
        time.sleep(0.02)
    positions: list[int] = []
    deadline = time.monotonic() + 60
    while tail.listeners > 1:  # until the stalled one is given up
        assert time.monotonic() < deadline, "the stalled client was never dropped"
        positions += orders_at_once(app.state.ledger, 200, lines=8)
        time.sleep(0.1)
    positions += orders_at_once(app.state.ledger, 5)  # and the other one reads on
    fast.wait_for(len(positions), timeout=60)
    fast.close()
    assert [i for i, _ in fast.events] == positions
    assert _read_to_the_end(stalled, timeout=30)  # the server closed its connection


def _read_to_the_end(sock: socket.socket, timeout: float) -> bool:
    """Read until the server closes the connection; False if it did not in time."""
    deadline = time.monotonic() + timeout
    sock.settimeout(1.0)
    try:
        while time.monotonic() < deadline:
            try:
                if not sock.recv(1 << 20):
                    return True
            except TimeoutError:
                continue
        return False
    finally:
        sock.close()


def test_a_client_too_slow_for_its_buffer_is_dropped_and_resumes_without_loss(
    served: tuple[FastAPI, str],
) -> None:
    app, base = served
    tail = app.state.feed_tail
    tail.buffer = 5
    reader = Reader(base, after=0)
    deadline = time.monotonic() + 20
    while tail.listeners < 1:  # it listens to the tail, past the log's (empty) history
        assert time.monotonic() < deadline, "the client did not start"
        time.sleep(0.02)
    positions = orders_at_once(app.state.ledger, 30)  # one commit: one page for a buffer of 5
    deadline = time.monotonic() + 20
    while not any("dropped" in c for c in reader.comments):
        assert time.monotonic() < deadline, reader.comments
        time.sleep(0.05)
    reader.close()
    assert tail.dropped == 1 and tail.listeners == 0
    assert reader.events == []  # nothing of the page it could not hold
    tail.buffer = 1000
    resumed = Reader(base, headers={"Last-Event-ID": "0"})
    resumed.wait_for(30)
    resumed.close()
    assert [i for i, _ in resumed.events] == positions


def orders_at_once(ledger: Ledger, count: int, lines: int = 1) -> list[int]:
    """``count`` orders of ``lines`` lines saved in one transaction; their positions."""
    numbers = ledger.allocate_numbers(2026, count)
    price = __import__("decimal").Decimal("100.00")
    ordered = [Line(f"A-{i}", "不鏽鋼保溫杯（大）", 3, price) for i in range(lines)]
    with stamped(Stamp(ledger.clock.now(), {"actor": "test"})):
        orders = [
            Order.receive(order_id=order_id_for(number), number=number, channel="email",
                          customer=Customer("華東五金"), lines=ordered,
                          delivery=Delivery("上海", "王小明"), currency="CNY",
                          requested_date=None)
            for number in numbers
        ]  # fmt: skip
    recordings = ledger.save(*orders)
    return [recording.notification.id for recording in recordings]


def _stalled_client(base: str) -> socket.socket:
    """A stream request whose client never reads (a small receive buffer)."""
    address = urlsplit(base)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((address.hostname, address.port))
    request = (f"GET /events/stream?after=0 HTTP/1.1\r\nHost: {address.netloc}\r\n"
               f"Authorization: Bearer t-sales\r\n\r\n")  # fmt: skip
    sock.sendall(request.encode())
    return sock
