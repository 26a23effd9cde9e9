"""What a customer's tracking link shows, and how its answers are kept uniform.

``public_view`` is the whole of what a token holder may read: per order the
number, a customer-facing stage, the latest promised date and whether it
changed (never why), and per shipment its carrier, tracking number, status,
last location and delivery time. No price, amount, reason, note, quality
issue, complaint, staff or customer name is ever read from the order here.

A link follows its order: a split order shows its children, a merged one
the order it was merged into (and so on, if those moved on too).
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.aggregates.order import Order
from ledger.aggregates.state import TrackingLinkState
from ledger.aggregates.tracking import tracking_links
from ledger.application import Ledger, OrderNotFound
from ledger.followup import order_of_token, token_hash

# Every refusal (unknown, revoked, expired) takes at least this long, so the
# answer time tells nothing about which it was nor about the order's size.
REFUSAL_SECONDS = 0.25
MAX_HOPS = 8  # split and merge steps followed from the linked order


@dataclass(frozen=True)
class Lookup:
    """What a token leads to: ``status`` is "ok", "expired" or "unknown"."""

    status: str
    order: Order | None = None
    link: TrackingLinkState | None = None


def look_up(ledger: Ledger, token: str, now: datetime) -> Lookup:
    """The link's order, or why there is none (a revoked link is "unknown")."""
    order_id = order_of_token(token)
    digest = token_hash(token)
    order: Order | None = None
    if order_id is not None:
        try:
            order = ledger.get_order(order_id)
        except OrderNotFound:
            order = None
    found: TrackingLinkState | None = None
    links = tracking_links(order).values() if order is not None else ()
    for link in links:  # every link compared in constant time, found or not
        if hmac.compare_digest(link.token_hash, digest):
            found = link
    if order is None or found is None or found.revoked_at is not None:
        return Lookup("unknown")
    if found.expired(now):
        return Lookup("expired")
    return Lookup("ok", order, found)


def followed(ledger: Ledger, order: Order) -> list[Order]:
    """The orders the linked one became: itself, its split children, the
    order it was merged into (each followed again, a few steps at most)."""
    shown: list[Order] = []
    seen: set[UUID] = set()
    todo: list[tuple[Order, int]] = [(order, 0)]
    while todo:
        current, hops = todo.pop(0)
        if current.id in seen:
            continue
        seen.add(current.id)
        nexts = []
        if current.status == "split":
            nexts = list(current.split_into)
        elif current.status == "merged" and current.merged_into:
            nexts = [current.merged_into]
        if not nexts or hops >= MAX_HOPS:
            shown.append(current)
            continue
        for next_id in nexts:
            try:
                todo.append((ledger.get_order(UUID(next_id)), hops + 1))
            except OrderNotFound:  # pragma: no cover - saved together with its parent
                continue
    return shown


def public_stage(order: Order) -> str:
    """The stage, except what is internal: a hold shows how far the goods
    have got, a failed check shows the order as received, an invoiced one as
    delivered (money is not on the page)."""
    stage = order.progress_stage if order.stage == "on_hold" else order.stage
    return _PUBLIC.get(stage, stage)


_PUBLIC = {"rejected": "received", "invoiced": "delivered"}


def order_view(order: Order) -> dict[str, Any]:
    """One order as its customer may see it."""
    promised = order.latest_promise
    return {
        "number": order.number,
        "stage": public_stage(order),
        "latest_promised_date": promised.isoformat() if promised else None,
        "promised_date_changed": len({p.promised_date for p in order.promises}) > 1,
        "shipments": [
            {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "status": shipment.status,
                "transit_status": shipment.transit_status,
                "last_location": shipment.location,
                "planned_date": shipment.planned_date.isoformat(),
                "dispatched_at": _iso(shipment.dispatched_at),
                "delivered_at": _iso(shipment.delivered_at),
            }
            for shipment in order.shipments.values()
        ],
    }


def public_view(ledger: Ledger, lookup: Lookup) -> dict[str, Any]:
    """The JSON of a working link."""
    assert lookup.order is not None and lookup.link is not None
    orders = followed(ledger, lookup.order)
    return {
        "order": lookup.order.number,
        "moved": lookup.order.status if lookup.order.status in ("split", "merged") else None,
        "orders": [order_view(order) for order in orders],
        "expires_at": lookup.link.expires_at.isoformat(),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def pad_refusal(started: float) -> None:
    """Wait until ``REFUSAL_SECONDS`` after ``started`` (a ``time.monotonic()``)."""
    left = REFUSAL_SECONDS - (time.monotonic() - started)
    if left > 0:
        await asyncio.sleep(left)


class PerClientLimit:
    """At most ``per_minute`` requests per client address in any fixed
    minute window; the table keeps the most recent clients only."""

    def __init__(self, per_minute: int, clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.clients = clients
        self._windows: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> int | None:
        """None when allowed; else the seconds until the client may retry."""
        moment = time.monotonic() if now is None else now
        window = int(moment // 60)
        with self._lock:
            start, count = self._windows.pop(client, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._windows[client] = (start, count)
            while len(self._windows) > self.clients:
                self._windows.popitem(last=False)
        if count > self.per_minute:
            return max(1, int((window + 1) * 60 - moment) + 1)
        return None
