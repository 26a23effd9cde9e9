"""Delivering one subscription's webhooks: taking events in from the log,
planning the attempts due, sending them and judging the answers.

Order: only the first undelivered delivery of an order is ever attempted;
when it succeeds the order's next ones follow in log (so version) order,
and while it fails they wait, as it does. Other orders go on meanwhile.

Retries: after the n-th failed attempt the next one is due ``base × 3^(n−1)``
seconds later, each delay scaled by a random factor in [0.8, 1.2] (jitter,
so receivers coming back are not met by every sender at once); after the
last attempt the delivery is ``failed``. By default (base 30 s, 9 attempts)
the delays are 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, 2 h, 6 h and 18 h:
about 27 hours in all. 2xx is success; 410 disables the subscription; any
other answer, no answer within the timeout, or a refused address is retried.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import orjson

from ledger.integration.egress import Outcome, Sender
from ledger.integration.feed import Feed
from ledger.integration.feed_types import ALERT_TYPES, TOPICS, topics_of
from ledger.integration.signing import signature
from ledger.integration.webhook_store import Attempted, Delivery, Subscription, WebhookStore

RETRY_FACTOR = 3.0
JITTER = 0.2
TAKE_IN_PAGE = 1000
CHAIN = 50  # deliveries of one order sent one after the other in a round


def nominal_delays(base: float, attempts: int) -> list[float]:
    """The delays between attempts, before jitter."""
    return [base * RETRY_FACTOR**n for n in range(attempts - 1)]


def retry_delay(failed: int, base: float, rng: random.Random) -> float:
    """Seconds until the attempt after the ``failed``-th failed one."""
    return base * RETRY_FACTOR ** (failed - 1) * rng.uniform(1 - JITTER, 1 + JITTER)


def message_id(webhook_id: str, position: int) -> str:
    """``webhook-id``: the same for every attempt of one event to one subscription."""
    return f"msg_{webhook_id.removeprefix('wh_')}_{position}"


@dataclass(frozen=True)
class Prepared:
    """A delivery ready to send: its body (None: the event is not in the log)."""

    delivery: Delivery
    message_id: str
    body: bytes | None


class Stages:
    """The stage of an order after one of its events, for the webhook's data.

    Keeps the orders it last read; an order's next event is applied to it,
    any other is read at its version from the store."""

    def __init__(self, app: Any, size: int = 2000) -> None:
        self.app = app
        self.size = size
        self._orders: OrderedDict[UUID, Any] = OrderedDict()

    def after(self, note: Any) -> str:
        event = self.app.mapper.to_domain_event(note)
        order_id, version = event.originator_id, event.originator_version
        order = self._orders.pop(order_id, None)
        if order is not None and order.version == version - 1:
            order = event.mutate(order)
        elif version == 1:
            order = event.mutate(None)
        else:
            order = self.app.get_order(order_id, version=version)
        self._orders[order_id] = order
        while len(self._orders) > self.size:
            self._orders.popitem(last=False)
        return str(order.stage)


class Deliverer:
    """One subscription's deliveries, as seen from the process holding its lease."""

    def __init__(
        self,
        subscription: Subscription,
        secret: str,
        store: WebhookStore,
        feed: Feed,
        stages: Stages,
        *,
        retry_base: float,
        attempts: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscription = subscription
        self.secret = secret
        self.store = store
        self.feed = feed
        self.stages = stages
        self.retry_base = retry_base
        self.attempts = attempts
        self.clock = clock
        self.rng = random.Random()
        self._recent: dict[int, Any] = {}  # the notifications last taken in, by position

    @property
    def id(self) -> str:
        return self.subscription.id

    def take_in(self) -> bool:
        """Add a delivery row for each matching event after the subscription's
        position; False if its row moved meanwhile (replayed, disabled, deleted).

        With a type filter the position moves to the head as read before the
        pages (past the events left out); without one, to the last event read."""
        topics = topics_of(self.subscription.events)
        head = self.feed.head() if topics else None
        position = self.subscription.position
        while head is None or position < head:
            notes = self.feed.recorder.select_notifications(
                position, TAKE_IN_PAGE, stop=head, topics=topics, inclusive_of_start=False
            )
            if len(notes) == TAKE_IN_PAGE or head is None:
                end = notes[-1].id if notes else position
            else:
                end = head
            if end == position:
                break
            if not self.store.take_in(self.id, position, end, self._rows(notes), self.clock()):
                return False
            self._recent = {note.id: note for note in notes}  # what ``plan`` will send
            position = end
            self.subscription = _moved(self.subscription, position)
            if len(notes) < TAKE_IN_PAGE:
                break
        return True

    def _rows(self, notes: Sequence[Any]) -> list[tuple[Any, ...]]:
        alerts = [n for n in notes if n.topic in ALERT_TYPES]
        about = {item["position"]: item for item in self.feed.items(alerts)} if alerts else {}
        rows: list[tuple[Any, ...]] = []
        for note in notes:
            kind = TOPICS.get(note.topic)
            if kind is None:
                continue
            if note.id in about:
                item = about[note.id]
                rows.append((note.id, item["order_id"], item["version"], kind))
            else:
                rows.append((note.id, str(note.originator_id), note.originator_version, kind))
        return rows

    def plan(self, busy: set[str], limit: int) -> list[list[Prepared]]:
        """The chains of deliveries due now, one per order not ``busy`` (sending)."""
        chains: dict[str, list[Delivery]] = {}
        for delivery in self.store.due(self.id, self.clock(), limit):
            if delivery.order_id not in busy:
                chain = chains.setdefault(delivery.order_id, [])
                if len(chain) < CHAIN:
                    chain.append(delivery)
        return self._prepare(list(chains.values()))

    def _prepare(self, chains: list[list[Delivery]]) -> list[list[Prepared]]:
        wanted = [d.position for chain in chains for d in chain]
        notes = {p: self._recent[p] for p in wanted if p in self._recent}
        notes.update(self.feed.notes_at(p for p in wanted if p not in notes))
        items = {item["position"]: item for item in self.feed.items(notes.values())}
        prepared = []
        for chain in chains:
            prepared.append([
                Prepared(d, message_id(self.id, d.position), self._body(notes, items, d.position))
                for d in chain
            ])  # fmt: skip
        return prepared

    def _body(self, notes: dict[int, Any], items: dict[int, Any], position: int) -> bytes | None:
        item = items.get(position)
        if item is None:
            return None
        if item["type"].startswith("alert."):
            stage = item["payload"].get("stage")
        else:
            stage = self.stages.after(notes[position])
        data = {**item, "stage": stage}
        return orjson.dumps({"type": item["type"], "timestamp": item["recorded_at"], "data": data})

    def send(
        self, sender: Sender, chain: list[Prepared], stopping: Callable[[], bool] = lambda: False
    ) -> list[Attempted]:
        """Attempt a chain in order, stopping at its first failure (or when ``stopping()``)."""
        attempted: list[Attempted] = []
        for prepared in chain:
            if attempted and stopping():
                break
            at = self.clock()
            outcome = self._post(sender, prepared, int(at))
            attempt = self.judge(prepared.delivery, outcome, at)
            attempted.append(attempt)
            if attempt.status != "delivered":
                break
        return attempted

    def _post(self, sender: Sender, prepared: Prepared, timestamp: int) -> Outcome:
        if prepared.body is None:
            return Outcome(None, f"no event at position {prepared.delivery.position} in the log")
        headers = {
            "content-type": "application/json",
            "user-agent": "ledger-webhooks/1",
            "webhook-id": prepared.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                self.secret, prepared.message_id, timestamp, prepared.body
            ),
        }
        return sender.post(self.subscription.url, prepared.body, headers)

    def judge(self, delivery: Delivery, outcome: Outcome, at: float) -> Attempted:
        """The delivery's row after this attempt."""
        attempts = delivery.attempts + 1
        status, next_at, delivered = "retrying", None, None
        if outcome.status is not None and 200 <= outcome.status < 300:
            status, delivered = "delivered", at
        elif outcome.status == 410:
            next_at = at  # first in line should the subscription be replayed
        elif attempts >= self.attempts:
            status = "failed"
        else:
            next_at = at + retry_delay(attempts, self.retry_base, self.rng)
        error = outcome.error or (f"HTTP {outcome.status}" if status != "delivered" else None)
        return Attempted(delivery.position, delivery.generation, status, attempts, next_at, at,
                         delivered, outcome.status, error)  # fmt: skip


def _moved(subscription: Subscription, position: int) -> Subscription:
    return replace(subscription, position=position)
