"""The machinery of the fault tests: a real `ledger serve` (and `ledger
project`) on a free loopback port, a soak of 16 HTTP clients sending mixed
commands, and the accounting that checks the store against every answer.

Every request carries an ``X-Correlation-Id`` of its own, which the service
stores in the metadata of the events the command writes. After a soak, each
correlation id in the store must belong to a request that got a 2xx and
wrote exactly the event it answered with (order, version, type); a request
answered 4xx, and a deliberate repeat of an idempotent request, must have
written nothing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from ledger.api.auth import TokenTable
from ledger.application import Ctx, Ledger
from ledger.projections.framework import Source, fold_events, records_of
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view
from ledger.settings import Settings
from pg_databases import admin_connection

LEDGER = str(Path(sys.executable).with_name("ledger"))
TOKENS = {
    "t-sales": {"role": "sales", "name": "sally"},
    "t-merchandiser": {"role": "merchandiser", "name": "max"},
    "t-finance": {"role": "finance", "name": "fiona"},
    "t-auditor": {"role": "auditor", "name": "audrey"},
    "t-admin": {"role": "admin", "name": "ada"},
}
# The idempotency scope of each role's token (keys are stored per caller).
SCOPES = {
    role: principal.scope
    for role in ("sales", "merchandiser", "finance", "auditor")
    if (principal := TokenTable(TOKENS).principal(f"t-{role}")) is not None
}
# Correlation ids of requests made beside a soak on its database (by another
# test sharing the server); the soak's accounting leaves their events alone.
OTHER_WRITES = "other-"
STEPS_PER_ROUND = 13  # requests in Soak.round
CHECKS = {"customer": True, "product": True, "delivery": True}
CONFIRM = {
    "promised_date": "2026-10-15",
    "payment_terms": {"method": "bank_transfer", "due_days": 30, "prepayment_percent": 30},
}


def receipt(**overrides: Any) -> dict[str, Any]:
    """A valid order: two lines worth 401.00 CNY (30% prepayment = 120.30)."""
    body: dict[str, Any] = {
        "channel": "phone",
        "customer": {"name": "上海華聯貿易有限公司", "phone": "021-5555-0101"},
        "lines": [
            {"sku": "A-100", "name": "不鏽鋼保溫杯", "quantity": 3, "unit_price": "100.00"},
            {"sku": "B-200", "name": "杯套", "quantity": 2, "unit_price": "50.50"},
        ],
        "delivery": {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"},
    }
    body.update(overrides)
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- processes ---------------------------------------------------------------------


def ledger_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LEDGER_")}
    env.update(
        LEDGER_DATABASE_URL=database_url, LEDGER_TOKENS=json.dumps(TOKENS), LEDGER_POOL_SIZE="6"
    )
    env.update(extra)
    return env


@dataclass
class Service:
    """A running `ledger serve`; its output goes to a file (a full pipe would stall it)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    database_url: str,
    tmp_path: Path,
    *,
    projections: bool = True,
    extra: dict[str, str] | None = None,
) -> Iterator[Service]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    args = [LEDGER, "serve", "--port", str(port), "--no-access-log"]
    if not projections:
        args.append("--no-projections")
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            env=ledger_env(database_url, **(extra or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_healthy(service)
        yield service
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung shutdown
            process.kill()
            process.wait(timeout=5)
            raise AssertionError(
                f"ledger serve did not stop:\n{service.output()[-3000:]}"
            ) from None
    assert process.returncode == 0, service.output()[-3000:]
    # The 500 handler logs "unhandled error"; it must never have run.
    assert "unhandled error" not in service.output(), service.output()[-3000:]


def wait_healthy(service: Service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.process.poll() is None, f"ledger serve exited:\n{service.output()}"
        try:
            if httpx.get(f"{service.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"ledger serve not healthy in {timeout} s:\n{service.output()}")


def start_projector(
    database_url: str,
    tmp_path: Path,
    n: int,
    *,
    wait: bool = True,
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`ledger project` as its own process; with ``wait``, returns once its runners run.

    With its scheduler (as in production): its watchdog job takes over a
    read model whose lease a killed predecessor's connection still held when
    this process started."""
    log = tmp_path / f"project-{n}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LEDGER, "project"],
            env=ledger_env(database_url, LEDGER_POOL_SIZE="3", **(extra or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while wait and b"ledger: projecting" not in log.read_bytes():
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.05)
    return process


# -- the soak ----------------------------------------------------------------------


@dataclass
class Attempt:
    sent: float  # monotonic time
    seconds: float
    status: int  # 0: no answer (timeout or transport error)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class Call:
    """One command or read as the client saw it, after any retries."""

    client: int
    step: str
    corr: str
    path: str
    key: str | None
    expect: tuple[int, ...]
    event: str | None = None  # what a 2xx must have written
    repeat_of: Call | None = None  # a deliberate repeat writes nothing
    attempts: list[Attempt] = field(default_factory=list)
    scope: str = ""  # whose idempotency key it is (the token's)

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def status(self) -> int:
        return self.final.status

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def version(self) -> int | None:
        body = self.final.body
        return body.get("version") if isinstance(body, dict) else None

    @property
    def order_id(self) -> str | None:
        body = self.final.body
        return body.get("id") if isinstance(body, dict) else None


class Soak:
    """``clients`` threads, each sending ``rounds`` rounds of mixed commands.

    ``retry``: every command carries an Idempotency-Key, and a 503 or an
    attempt without an answer in ``attempt_timeout`` seconds is sent again,
    unchanged (same key, same correlation id, same body).
    """

    def __init__(
        self,
        url: str,
        *,
        clients: int = 16,
        rounds: int = 2,
        retry: bool = False,
        attempt_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.clients = clients
        self.rounds = rounds
        self.retry = retry
        self.attempt_timeout = attempt_timeout
        self.calls: list[Call] = []
        self.shared: list[str] = []  # orders every client may hold or release
        self._lock = threading.Lock()
        self.started = 0.0

    @property
    def planned(self) -> int:
        return self.clients * self.rounds * STEPS_PER_ROUND

    def done(self) -> int:
        with self._lock:
            return len(self.calls)

    def prepare(self, orders: int = 8) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for i in range(orders):
                call = self.send(http, -1, "receive", "POST", "/orders", receipt(), "sales",
                                 expect=(201,), event="OrderReceived", key=f"prep-{i}")  # fmt: skip
                assert call.status == 201, call.final.body
                self.shared.append(str(call.order_id))

    def run(self, during: Callable[[Soak], None] | None = None) -> None:
        """The soak; ``during(self)`` runs in this thread meanwhile (the fault)."""
        self.started = time.monotonic()
        errors: list[BaseException] = []

        def client(n: int) -> None:
            try:
                with httpx.Client(base_url=self.url, timeout=self.attempt_timeout) as http:
                    rng = random.Random(n)
                    for r in range(self.rounds):
                        self.round(http, n, r, rng)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        try:
            if during is not None:
                during(self)
        finally:
            for thread in threads:
                thread.join(timeout=180)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads), "a soak client hung"
        assert self.done() == self.planned + len(self.shared)

    def round(self, http: httpx.Client, n: int, r: int, rng: random.Random) -> None:
        """One order through its first steps, with refusals and repeats mixed in."""
        keyed = self.retry or r % 2 == 0

        def key(step: str) -> str | None:
            return f"c{n}-r{r}-{step}-{uuid.uuid4().hex[:8]}" if keyed else None

        receive = self.send(http, n, "receive", "POST", "/orders", receipt(), "sales",
                            expect=(201,), event="OrderReceived", key=key("receive"))  # fmt: skip
        order = receive.order_id
        if order is None:
            return
        at = f"/orders/{order}"
        self.send(http, n, "confirm_unverified", "POST", f"{at}/confirm", CONFIRM, "sales",
                  expect=(409,), key=key("early"))  # fmt: skip
        self.send(http, n, "verify", "POST", f"{at}/verify", {"checks": CHECKS}, "sales",
                  expect=(200,), event="OrderVerified", key=key("verify"),
                  headers={"If-Match": '"1"'})  # fmt: skip
        self.send(http, n, "verify_stale", "POST", f"{at}/verify", {"checks": CHECKS}, "sales",
                  expect=(412,), key=key("stale"), headers={"If-Match": '"1"'})  # fmt: skip
        confirm_key = f"c{n}-r{r}-confirm-{uuid.uuid4().hex[:8]}"
        confirm = self.send(http, n, "confirm", "POST", f"{at}/confirm", CONFIRM, "sales",
                            expect=(200,), event="OrderConfirmed", key=confirm_key)  # fmt: skip
        self.send(http, n, "confirm_repeat", "POST", f"{at}/confirm", CONFIRM, "sales",
                  expect=(200,), key=confirm_key, repeat_of=confirm)  # fmt: skip
        self.send(http, n, "key_reused", "POST", f"{at}/confirm", {**CONFIRM, "contract_ref": "X"},
                  "sales", expect=(422,), key=confirm_key)  # fmt: skip
        shipment = {
            "shipment_id": f"SH-{n}-{r}",
            "planned_date": "2026-10-10",
            "lines": [{"sku": "A-100", "quantity": 3}],
            "carrier": "順豐",
            "mode": "road",
        }
        self.send(http, n, "schedule", "POST", f"{at}/shipments", shipment, "merchandiser",
                  expect=(200,), event="ShipmentScheduled", key=key("ship"))  # fmt: skip
        invoice = {"invoice_number": f"INV-{n}-{r}", "amount": "120.30", "issued_on": "2026-10-01"}
        self.send(http, n, "invoice", "POST", f"{at}/invoices", invoice, "finance",
                  expect=(200,), event="OrderInvoiced", key=key("invoice"))  # fmt: skip
        over = {"invoice_number": f"INV-{n}-{r}-X", "amount": "100.00", "issued_on": "2026-10-01"}
        self.send(http, n, "invoice_too_much", "POST", f"{at}/invoices", over, "finance",
                  expect=(409,), key=key("over"))  # fmt: skip
        self.send(http, n, "bad_input", "POST", "/orders", receipt(lines=[]), "sales",
                  expect=(422,), key=key("bad"))  # fmt: skip
        shared = f"/orders/{rng.choice(self.shared)}"
        action, event = rng.choice([("hold", "OrderPutOnHold"), ("release", "OrderReleased")])
        self.send(http, n, action, "POST", f"{shared}/{action}", {"reason": "客戶要求"}, "sales",
                  expect=(200, 409), event=event, key=key(action))  # fmt: skip
        self.send(http, n, "read", "GET", at, None, "auditor", expect=(200,))

    def send(
        self,
        http: httpx.Client,
        client: int,
        step: str,
        method: str,
        path: str,
        body: Any,
        role: str,
        *,
        expect: tuple[int, ...],
        event: str | None = None,
        key: str | None = None,
        repeat_of: Call | None = None,
        headers: dict[str, str] | None = None,
    ) -> Call:
        corr = f"soak-{uuid.uuid4().hex}"
        call = Call(client, step, corr, path, key, expect, event, repeat_of)
        call.scope = SCOPES[role]
        sent_headers = {"Authorization": f"Bearer t-{role}", "X-Correlation-Id": corr}
        if key is not None:
            sent_headers["Idempotency-Key"] = key
        sent_headers.update(headers or {})
        deadline = time.monotonic() + 90
        while True:
            started = time.monotonic()
            try:
                response = http.request(method, path, json=body, headers=sent_headers)
            except httpx.TransportError:
                call.attempts.append(Attempt(started, time.monotonic() - started, 0))
            else:
                call.attempts.append(
                    Attempt(
                        started,
                        time.monotonic() - started,
                        response.status_code,
                        dict(response.headers),
                        _json(response),
                    )
                )
            retryable = call.status in (0, 503) and (self.retry or method == "GET")
            if not retryable or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        with self._lock:
            self.calls.append(call)
        return call

    def attempts(self) -> list[tuple[Call, Attempt]]:
        return [(call, attempt) for call in self.calls for attempt in call.attempts]

    def summary(self) -> str:
        finals = Counter(f"{c.step}:{c.status}" for c in self.calls)
        every = Counter(a.status for _, a in self.attempts())
        return f"{len(self.calls)} calls, attempts by status {dict(every)}; finals {dict(finals)}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


# -- checks ------------------------------------------------------------------------


def open_ledger(database_url: str) -> Ledger:
    return Ledger(Settings(database_url=database_url, pool_size=2))


def stored_events(app: Ledger) -> list[Any]:
    """The orders' events (not the alerts the alert scan may record meanwhile)."""
    notifications = [n for n in app.recorder.select_notifications(0, 10**9) if ":Order." in n.topic]
    return [app.mapper.to_domain_event(n) for n in notifications]


def assert_answers_as_planned(soak: Soak) -> None:
    """Every call's final answer is one it should get (no 5xx, no lost answer)."""
    wrong = [(c.step, c.status, c.final.body) for c in soak.calls if c.status not in c.expect]
    assert not wrong, wrong[:10]
    for call in soak.calls:
        if call.repeat_of is not None:
            assert call.final.headers.get("idempotent-replayed") == "true", call.step
            assert call.version == call.repeat_of.version


def assert_store_accounts_for_every_answer(app: Ledger, soak: Soak) -> None:
    """2xx: exactly the event it answered with, once; 4xx and repeats: nothing."""
    by_corr: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for event in stored_events(app):
        corr = str(event.meta.get("correlation_id", ""))
        by_corr[corr].append((str(event.originator_id), event.originator_version,
                              type(event).__name__))  # fmt: skip
    calls = {call.corr: call for call in soak.calls}
    orphans = {
        corr: events
        for corr, events in by_corr.items()
        if corr not in calls and not corr.startswith(OTHER_WRITES)
    }
    assert not orphans, f"events no answered request wrote: {list(orphans.items())[:5]}"
    for call in soak.calls:
        written = by_corr.get(call.corr, [])
        if call.ok and call.event is not None and call.repeat_of is None:
            expected = [(call.order_id, call.version, call.event)]
            assert written == expected, (call.step, call.status, written)
        else:
            assert written == [], (call.step, call.status, written)
        if call.ok and call.key is not None:
            stored_key = Ctx(idempotency_key=call.key, idempotency_scope=call.scope).scoped_key
            record = app.recorder.find_idempotency(stored_key)  # type: ignore[attr-defined]
            assert record is not None and record.version == call.version, call.step


def wait_for_views(app: Ledger, timeout: float = 60, logs: Callable[[], str] = str) -> int:
    """Wait until every read model has applied the whole log; returns the head.
    ``logs()`` is shown if they do not (the output of the projecting process)."""
    head = app.recorder.max_notification_id() or 0
    views = {name: open_view(app, model) for name, model in READ_MODELS.items()}
    deadline = time.monotonic() + timeout
    while True:
        behind = {n: v.max_tracking_id(app.name) or 0 for n, v in views.items()}
        behind = {n: p for n, p in behind.items() if p < head}
        if not behind:
            return head
        assert time.monotonic() < deadline, f"views behind head {head}: {behind}\n{logs()}"
        time.sleep(0.1)


def assert_views_equal_rebuild(app: Ledger) -> None:
    """Each read model's stored rows equal a fold of the whole log from zero."""
    for name, model in READ_MODELS.items():
        view = open_view(app, model)
        notes = app.recorder.select_notifications(0, 10**9, topics=model.topics)
        decode = Source.of(app).decode  # as the projections decode: personal texts sealed
        rebuilt = records_of(model, fold_events(model, [decode(n) for n in notes]))
        stored = records_of(model, view.rows(list(rebuilt)))
        assert stored == rebuilt, name
        assert view.count() == len(rebuilt), name


def assert_soak_accounted(app: Ledger, soak: Soak, logs: Callable[[], str] = str) -> None:
    """The soak's accounting: every answer as planned, the store holding
    exactly what the answers say, and every read model, once caught up,
    equal to a rebuild."""
    assert_answers_as_planned(soak)
    assert_store_accounts_for_every_answer(app, soak)
    wait_for_views(app, logs=logs)
    assert_views_equal_rebuild(app)


def terminate_backends(dbname: str, admin: psycopg.Connection[Any]) -> int:
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    ).fetchall()
    return len(rows)


@contextmanager
def store_away(database_url: str) -> Iterator[Callable[[], int]]:
    """The test's own database refuses new connections; yields a function that
    terminates every connection to it (the service's and the watch's)."""
    dbname = database_url.rsplit("/", 1)[1].split("?")[0]
    ident = sql.Identifier(dbname)
    with admin_connection() as admin:
        admin.execute(sql.SQL("ALTER DATABASE {0} ALLOW_CONNECTIONS false").format(ident))
        try:
            yield lambda: terminate_backends(dbname, admin)
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {0} ALLOW_CONNECTIONS true").format(ident))
