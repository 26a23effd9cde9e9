"""Driving the webhook tests: an app delivering to a ``Receiver``, commands on
many orders at once, and the checks every delivery test makes."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms
from ledger.application import Ctx, Ledger

CTX = Ctx(actor="tester")
CHECKS = {"customer": True, "product": True, "delivery": True}


def order_story(app: Ledger, n: int) -> UUID:
    """An order through receipt, verification, confirmation, hold and release."""
    oid: UUID = app.receive(CTX, channel="email", customer=Customer(f"客戶{n % 3}", "021-555"),
                            lines=[Line("A", "产品 A", 10, Decimal("2.50"))],
                            delivery=Delivery("上海", "李四")).order.id  # fmt: skip
    app.verify(CTX, oid, checks=CHECKS)
    app.confirm(CTX, oid, promised_date=date(2027, 1, 1), payment_terms=PaymentTerms())
    app.hold(CTX, oid, reason="等客戶確認")
    app.release(CTX, oid, reason="已確認")
    return oid


def stories(app: Ledger, orders: int, threads: int = 4) -> list[UUID]:
    """``orders`` order stories from ``threads`` threads at once."""
    made: list[UUID] = []
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for n in range(k, orders, threads):
                made.append(order_story(app, n))
        except BaseException as error:  # reported below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    return made


def deliveries(client: Any, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/admin/webhooks/{webhook_id}/deliveries",
                          params={"limit": 500, **params},
                          headers={"Authorization": "Bearer t-admin"})  # fmt: skip
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def wait_recorded(client: Any, webhook_id: str, delivered: int, timeout: float = 20) -> None:
    """Until the deliveries log counts ``delivered`` deliveries (the receiver
    may have its answer before the deliverer has recorded it)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = client.get(
            f"/admin/webhooks/{webhook_id}", headers={"Authorization": "Bearer t-admin"}
        )
        counts = shown.json()["deliveries"]
        if counts["delivered"] >= delivered:
            return
        assert time.monotonic() < deadline, counts
        time.sleep(0.05)
