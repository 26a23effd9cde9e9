"""Soak: 16 clients send mixed commands to a real `ledger serve` on PostgreSQL;
afterwards the store accounts for every answer and the read models equal a
rebuild from zero. And slow or stuck clients holding connections do not
stall the others.

The soak and the stuck clients share one server (module-scoped): starting
one takes seconds on a busy machine."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from fault_support import (
    OTHER_WRITES,
    Service,
    Soak,
    assert_soak_accounted,
    open_ledger,
    receipt,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_every_answer_of_a_soak_is_accounted_for_and_the_views_equal_a_rebuild(
    service: Service, shared_database: str
) -> None:
    soak = Soak(service.url)  # read models projected inside the server
    soak.prepare()
    soak.run()
    app = open_ledger(shared_database)
    try:
        assert_soak_accounted(app, soak)
    finally:
        app.close()
    refused = [c for c in soak.calls if 400 <= c.status < 500]
    assert len(refused) >= 16 * 2 * 5  # the refusals were really sent and refused


# -- slow and stuck clients -------------------------------------------------------

CLIENTS = 4
AUDITOR = {"Authorization": "Bearer t-auditor"}
SALES = {"Authorization": "Bearer t-sales"}
REQUESTS = 30  # per client: a command and a read, alternately


def workload(url: str, order: str, requests: int = REQUESTS) -> list[float]:
    """Latencies of CLIENTS clients' requests; each must be answered 2xx."""
    latencies: list[float] = []
    failures: list[str] = []

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(requests):
                # Not part of a soak's accounting (see OTHER_WRITES).
                corr = {"X-Correlation-Id": f"{OTHER_WRITES}{uuid.uuid4().hex}"}
                started = time.monotonic()
                if i % 2:
                    response = http.get(f"/orders/{order}", headers={**AUDITOR, **corr})
                else:
                    response = http.post("/orders", json=receipt(), headers={**SALES, **corr})
                latencies.append(time.monotonic() - started)
                if not response.is_success:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures[:5]
    assert len(latencies) == CLIENTS * requests
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def stuck_connections(url: str) -> tuple[list[socket.socket], list[socket.socket]]:
    """(connections waiting on the server, connections the server cannot write to)."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    waiting: list[socket.socket] = []
    for i in range(64):
        s = socket.create_connection((host, port))
        if i % 4 == 3:  # headers cut off halfway
            s.sendall(b"GET /health HTTP/1.1\r\nHost: ledger\r\nAccept: appl")
        else:  # a body announced, a few bytes sent (48 of them: more than the 40 threads)
            s.sendall(
                b"POST /orders HTTP/1.1\r\nHost: ledger\r\nAuthorization: Bearer t-sales\r\n"
                b'Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"channel": '
            )
        waiting.append(s)
    unread: list[socket.socket] = []
    request = b"GET /openapi.json HTTP/1.1\r\nHost: ledger\r\n\r\n"
    for _ in range(4):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, port))
        s.settimeout(0.5)
        try:
            for _ in range(200):  # pipelined; the answers are never read
                s.sendall(request)
        except TimeoutError:
            pass  # the server stopped reading: its replies back up
        unread.append(s)
    return waiting, unread


def still_open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False


def test_stuck_clients_do_not_stall_the_others(service: Service) -> None:
    corr = {"X-Correlation-Id": f"{OTHER_WRITES}{uuid.uuid4().hex}"}
    with httpx.Client(base_url=service.url, timeout=10) as http:
        order_id = http.post("/orders", json=receipt(), headers={**SALES, **corr}).json()["id"]
    workload(service.url, order_id, requests=10)  # warm up
    before = workload(service.url, order_id)
    waiting, unread = stuck_connections(service.url)
    try:
        during = workload(service.url, order_id)
        held = sum(still_open(s) for s in waiting)
        assert held == len(waiting)  # they were stuck the whole time
    finally:
        for s in waiting + unread:
            s.close()
    ratio = p95(during) / p95(before)
    print(
        f"p95 before {p95(before) * 1000:.1f} ms, with {len(waiting) + len(unread)} stuck "
        f"connections {p95(during) * 1000:.1f} ms (x{ratio:.2f})"
    )
    # A noisy 2-core machine: a stalled server would show seconds, not milliseconds.
    assert p95(during) <= max(4 * p95(before), p95(before) + 0.5)
    assert max(during) < 5
