"""PostgreSQL away under load: the service answers 503 with Retry-After (never
a 500) while the store cannot be reached, recovers by itself, and a command
whose commit outcome was unknown is recorded exactly once when the client
sends it again with the same Idempotency-Key.

The outage touches only the test's own database: it is closed to new
connections (ALLOW_CONNECTIONS false) and every backend on it is terminated
with pg_terminate_backend, again and again, for a short window. The cluster
itself is never restarted.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fault_support import (
    CHECKS,
    CONFIRM,
    TOKENS,
    Soak,
    assert_soak_accounted,
    open_ledger,
    receipt,
    serving,
    store_away,
    stored_events,
)

from ledger.api.app import create_app
from ledger.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 2.5
LAG_SECONDS = 2.0  # the watch notices the store is back within this


def test_the_store_away_during_a_soak_gives_503s_then_recovers_with_every_answer_accounted(
    fault_database: str, tmp_path: Path
) -> None:
    window: dict[str, float] = {}

    def outage(soak: Soak) -> None:
        while soak.done() < (soak.planned + len(soak.shared)) // 4:
            time.sleep(0.01)
        with store_away(fault_database) as terminate:
            window["start"] = time.monotonic()
            killed = 0
            while time.monotonic() - window["start"] < OUTAGE_SECONDS:
                killed += terminate()
                time.sleep(0.05)
            window["end"] = time.monotonic()
        window["killed"] = killed

    with serving(fault_database, tmp_path) as service:
        # Clients give up on an attempt after 1 s and send it again unchanged:
        # an abandoned attempt may still commit, so the key must make it once.
        soak = Soak(service.url, retry=True, attempt_timeout=1.0)
        soak.prepare()
        soak.run(during=outage)
        assert httpx.get(f"{service.url}/health", timeout=5).status_code == 200
        app = open_ledger(fault_database)
        try:
            assert_soak_accounted(app, soak)
        finally:
            app.close()
        log = service.output()
    attempts = soak.attempts()
    unavailable = [a for _, a in attempts if a.status == 503]
    print(f"outage {window}; {soak.summary()}")
    assert window["killed"] > 0
    assert unavailable, soak.summary()
    assert not [a for _, a in attempts if a.status >= 500 and a.status != 503]
    for attempt in unavailable:
        assert attempt.body["code"] == "store_unavailable", attempt.body
        assert set(attempt.body) == {"code", "message", "details"}
        assert int(attempt.headers["retry-after"]) >= 1
        # Only while the store was away (or just after, until the watch saw it back).
        assert window["start"] <= attempt.sent <= window["end"] + LAG_SECONDS
    assert "the store is unreachable" in log and "the store is back" in log


class PgProxy:
    """A TCP proxy to PostgreSQL on loopback that can lose the reply to a COMMIT
    (the commit happened, the client never hears of it) and refuse connections."""

    COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"  # CommandComplete "COMMIT"

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.refusing = False
        self.lose_commit_reply = False
        self.then_refuse = False
        self.lost = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        self.cut_all()

    def cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            _close(s)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                _close(client)
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets |= {client, server}
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_server and self.lose_commit_reply and self.COMMIT_DONE in data:
                    self.lose_commit_reply = False
                    self.lost += 1
                    if self.then_refuse:
                        self.refusing = True
                        self.cut_all()
                    break
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()


def test_a_command_whose_commit_reply_was_lost_is_recorded_once_when_retried_with_its_key(
    fault_database: str,
) -> None:
    proxy = PgProxy()
    dbname = fault_database.rsplit("/", 1)[1]
    settings = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/{dbname}",
        tokens=TOKENS,
        pool_size=2,
        run_projections=False,
    )
    app = create_app(settings)
    ledger = app.state.ledger
    # This test's own pool waits 0.1 s for a connection (2 s in service), so
    # that the library's ten attempts give up quickly while the store is away.
    ledger.factory.datastore.pool.timeout = 0.1
    http = TestClient(app)

    def post(path: str, body: Any, key: str, corr: str) -> httpx.Response:
        headers = {
            "Authorization": "Bearer t-sales",
            "Idempotency-Key": key,
            "X-Correlation-Id": corr,
        }
        return http.post(path, json=body, headers=headers)

    def written(corr: str) -> list[tuple[str, int]]:
        return [
            (type(e).__name__, e.originator_version)
            for e in stored_events(ledger)
            if e.meta.get("correlation_id") == corr
        ]

    try:
        order = post("/orders", receipt(), "k-receive", "c-receive").json()
        at = f"/orders/{order['id']}"

        # 1. The reply to the COMMIT is lost, the store stays up: the service
        #    sends the save again itself, finds the key, answers with the result.
        proxy.lose_commit_reply = True
        verified = post(f"{at}/verify", {"checks": CHECKS}, "k-verify", "c-verify")
        assert proxy.lost == 1
        assert verified.status_code == 200, verified.text
        assert verified.json()["version"] == 2
        assert written("c-verify") == [("OrderVerified", 2)]

        # 2. The reply is lost and the store goes away: 503 with Retry-After;
        #    the client sends the same command with the same key until it is
        #    answered, and the command is recorded once.
        proxy.lose_commit_reply = proxy.then_refuse = True
        started = time.monotonic()
        first = post(f"{at}/confirm", CONFIRM, "k-confirm", "c-confirm")
        assert proxy.lost == 2
        assert first.status_code == 503, first.text
        assert first.json()["code"] == "store_unavailable"
        assert first.headers["Retry-After"] == "1"
        assert time.monotonic() - started < 30
        proxy.refusing = False  # the store is back
        deadline = time.monotonic() + 30
        again = post(f"{at}/confirm", CONFIRM, "k-confirm", "c-confirm")
        while again.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            again = post(f"{at}/confirm", CONFIRM, "k-confirm", "c-confirm")
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["version"] == 3
        assert written("c-confirm") == [("OrderConfirmed", 3)]
        # 3. The reply is lost for a command without a key: the library's
        #    resend conflicts with its own commit, which the service recognises
        #    (the same events are stored) instead of running the command again.
        proxy.lose_commit_reply = True
        proxy.then_refuse = False
        keyless = {"Authorization": "Bearer t-sales", "X-Correlation-Id": "c-hold"}
        held = http.post(f"{at}/hold", json={"reason": "check"}, headers=keyless)
        assert proxy.lost == 3
        assert held.status_code == 200, held.text
        assert held.json()["version"] == 4
        assert written("c-hold") == [("OrderPutOnHold", 4)]
        proxy.lose_commit_reply = False
        # A new command on the order still works, at the next version.
        released = post(f"{at}/release", {"reason": "ok"}, f"k-{uuid.uuid4()}", "c-release")
        assert released.status_code == 200 and released.json()["version"] == 5
    finally:
        ledger.close()
        proxy.close()
