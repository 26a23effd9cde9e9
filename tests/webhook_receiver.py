"""A webhook receiver on a loopback port that verifies every delivery with the
``standardwebhooks`` package, answers as the test tells it, and can go down
and come back up on the same port; and the check every delivery test makes."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ledger.application import Ledger


@dataclass(frozen=True)
class Received:
    message_id: str
    timestamp: int
    body: dict[str, Any]
    status: int  # what the receiver answered
    at: float  # time.time() on arrival

    @property
    def position(self) -> int:
        return int(self.body["data"]["position"])


class Receiver:
    """Counts, verifies and answers deliveries; ``answer(n, body)`` gives the
    status of the n-th (from 0), ``pause(received)`` runs before answering."""

    def __init__(self, port: int = 0) -> None:
        self.secrets: list[str] = []  # of every subscription delivering here
        self.received: list[Received] = []
        self.unverified: list[str] = []
        self.answer: Callable[[int, dict[str, Any]], int] = lambda n, body: 200
        self.pause: Callable[[Received], object] = lambda r: None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = port
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        server = _Server(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        """The deliveries answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, check: Callable[[list[Received]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.delivered()):
            assert time.monotonic() < deadline, f"{len(self.delivered())} delivered so far"
            time.sleep(0.02)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died half-way: no delivery at all
                    self.close_connection = True
                    return
                receiver._take(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _take(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k: v for k, v in request.headers.items()}
        if not any(_verified(secret, body, headers) for secret in self.secrets):
            self.unverified.append(f"{headers.get('webhook-id')}: not signed by any secret")
            self._answer(request, 400)
            return
        data = json.loads(body)
        with self._lock:
            status = self.answer(len(self.received), data)
            received = Received(headers["webhook-id"], int(headers["webhook-timestamp"]),
                                data, status, time.time())  # fmt: skip
            self.received.append(received)
        self.pause(received)
        self._answer(request, status)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int) -> None:
        request.send_response(status)
        request.send_header("content-length", "0")
        request.end_headers()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender gone before the answer (a killed process): nothing to report


def _verified(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def logged(app: Ledger, after: int = 0) -> dict[int, tuple[str, int, str]]:
    """Every order event after ``after``: position -> (order id, version, type)."""
    return {
        note.id: (str(note.originator_id), note.originator_version, note.topic.rsplit(".", 1)[1])
        for note in app.recorder.select_notifications(after, 10**9, inclusive_of_start=False)
        if ":Order." in note.topic
    }


def assert_every_event_delivered_in_order(
    received: list[Received], expected: dict[int, tuple[str, int, str]], webhook_id: str
) -> None:
    """Each expected event delivered (verified by the receiver) with its own
    stable webhook-id; per order, in version order once repeats are known by
    their webhook-id (after a crash, what was sent but not recorded is sent
    again, from there on); nothing unexpected."""
    by_position: dict[int, set[str]] = defaultdict(set)
    per_order: dict[str, list[int]] = defaultdict(list)
    for r in received:
        data = r.body["data"]
        assert (data["order_id"], data["version"], data["type"]) == expected[r.position]
        assert r.body["type"] == data["type"] and r.body["timestamp"] == data["recorded_at"]
        assert data["stage"], data
        if r.position not in by_position:  # a repeat is known by its id, as a receiver would
            per_order[data["order_id"]].append(data["version"])
        by_position[r.position].add(r.message_id)
    missing = sorted(set(expected) - set(by_position))
    assert not missing, f"{len(missing)} events never delivered, first {missing[:5]}"
    suffix = webhook_id.removeprefix("wh_")
    for position, ids in by_position.items():
        assert ids == {f"msg_{suffix}_{position}"}, (position, ids)
    for order, versions in per_order.items():
        assert versions == sorted(versions), (order, versions)
