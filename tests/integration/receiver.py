"""A webhook receiver on a loopback port that verifies every delivery with the
``standardwebhooks`` package, answers as the test tells it, and can go down
and come back up on the same port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


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
        self.pause: Callable[[Received], None] = lambda r: None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = port
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
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
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
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


def _verified(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True
