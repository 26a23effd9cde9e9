"""A store with a realistic log for the change-feed tests, and the log as an
independent oracle reads it (the application's own decoding and history)."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import uvicorn
from fastapi import FastAPI

from ledger.aggregates.alerts import OrderAlerts, alerts_id
from ledger.api.responses import history_json
from ledger.application import Ledger
from ledger.audit.erasure import erase_customer
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.integration.feed_types import ALERT_TYPES, TOPICS
from ledger.settings import Settings

TOKENS: dict[str, Any] = {
    "t-sales": {"role": "sales", "name": "sally"},
    "t-merchandiser": {"role": "merchandiser", "name": "max"},
    "t-warehouse": "warehouse",
    "t-finance": {"role": "finance", "name": "fiona"},
    "t-auditor": {"role": "auditor", "name": "audrey"},
    "t-admin": {"role": "admin", "name": "adam"},
}
ROLES = ("sales", "merchandiser", "warehouse", "finance", "auditor", "admin")


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer t-{role}"}


def receipt(**overrides: Any) -> dict[str, Any]:
    """A valid order: two lines worth 401.00 CNY."""
    body: dict[str, Any] = {
        "channel": "phone",
        "customer": {"name": "上海華聯貿易有限公司", "phone": "021-5555-0101", "email": "b@hl.cn"},
        "lines": [
            {"sku": "A-100", "name": "不鏽鋼保溫杯", "quantity": 3, "unit_price": "100.00"},
            {"sku": "B-200", "name": "杯套", "quantity": 2, "unit_price": "50.50"},
        ],
        "delivery": {"address": "上海市浦東新區世紀大道100號", "consignee": "王小明"},
    }
    body.update(overrides)
    return body


def populate(url: str) -> Ledger:
    """Forty demo orders (splits, merges, complaints, deliveries), two orders'
    alerts, and one customer's personal data erased."""
    clock = SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC))
    ledger = Ledger(Settings(database_url=url, tokens=TOKENS, pool_size=3), clock)
    run_demo(ledger, clock, orders=40, seed=11, until=date(2026, 6, 30), out=io.StringIO(),
             progress=None)  # fmt: skip
    first = cast(UUID, ledger.recorder.select_notifications(1, 1)[0].originator_id)
    raise_alerts(ledger, first, clock.now())
    customer = ledger.get_order(first).customer.name
    erase_customer(ledger, customer)
    return ledger


def raise_alerts(ledger: Ledger, order_id: UUID, at: datetime) -> None:
    order = ledger.get_order(order_id)
    stream = OrderAlerts.opened(alerts_id(order_id), at)
    about = {"order_id": str(order_id), "number": order.number, "order_version": order.version,
             "stage": order.stage, "timestamp": at, "meta": {"actor": "system:alerts"}}  # fmt: skip
    stream.raise_overdue(about, "medium", {"days_late_latest": 9})
    stream.raise_transit_exception({**about, "timestamp": at + timedelta(seconds=1)}, "SH-1",
                                   "delayed", "high")  # fmt: skip
    stream.clear({**about, "timestamp": at + timedelta(seconds=2)}, "overdue")
    ledger.save(stream)


def oracle_log(ledger: Ledger) -> list[dict[str, Any]]:
    """Every feed item of the log, built from the application's decoding:
    ``history_json`` for an order's events, the decoded event for alerts."""
    notes = ledger.recorder.select_notifications(1, 10**9)
    histories: dict[UUID, list[dict[str, Any]]] = {}
    items = []
    for note in notes:
        kind = TOPICS[note.topic]
        if note.topic in ALERT_TYPES:
            items.append(_alert(note, kind, ledger.mapper.to_domain_event(note)))
            continue
        order_id = cast(UUID, note.originator_id)
        if order_id not in histories:
            histories[order_id] = [history_json(entry) for entry in ledger.history(order_id)]
        entries = histories[order_id]
        entry = entries[note.originator_version - 1]
        items.append({
            "position": note.id, "order_id": str(note.originator_id),
            "number": entries[0]["payload"]["number"], "type": entry["type"],
            "version": entry["version"], "recorded_at": entry["recorded_at"],
            "occurred_at": entry["occurred_at"], "actor": entry["actor"],
            "payload": entry["payload"],
        })  # fmt: skip
    return items


def _alert(note: Any, kind: str, event: Any) -> dict[str, Any]:
    fields = {k: v for k, v in vars(event).items()
              if k not in ("originator_id", "originator_version", "timestamp", "meta")}  # fmt: skip
    return {
        "position": note.id, "order_id": fields.pop("order_id"), "number": fields.pop("number"),
        "type": kind, "version": fields.pop("order_version"),
        "recorded_at": event.timestamp.isoformat(), "occurred_at": event.timestamp.isoformat(),
        "actor": event.meta["actor"], "payload": fields,
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def uvicorn_serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a loopback port, in a thread; yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "uvicorn did not stop"
