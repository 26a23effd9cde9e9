"""The webhook deliveries of one process (``ledger project``, or ``ledger
serve`` when it runs the projections).

One thread takes each active subscription's lease (``webhook:<id>``, the
advisory-lock leases of the read models: at most one process delivers for
a subscription, and another takes over when it dies), takes new events in,
and hands the chains of deliveries due to a pool of senders: one chain per
order, so a slow or failing order never holds up another. The thread wakes
when events are recorded (PostgreSQL's NOTIFY; SQLite polls), when a chain
is done, and every ``poll`` seconds for the retries coming due.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ledger.integration.delivery import Deliverer, Stages
from ledger.integration.egress import Sender
from ledger.integration.feed import Feed, numbers_in
from ledger.integration.signing import SecretBox, box_for
from ledger.integration.webhook_store import Attempted, Subscription, WebhookStore
from ledger.projections.framework import View
from ledger.projections.runner import Subscription as Wake
from ledger.projections.runner import Waker, WakerHub
from ledger.settings import Settings
from ledger.worker.leases import Lease

log = logging.getLogger("ledger.webhooks")

MIN_INTERVAL = 0.05
REFRESH_SECONDS = 1.0  # how often the subscriptions (and leases) are looked at again
SENDERS = 8
IN_FLIGHT = 32  # chains sent at once, over every subscription
KEEP_DELIVERED_SECONDS = 30 * 86400
PRUNE_SECONDS = 3600.0


class WebhookRunner:
    """Delivers, in this process, the subscriptions whose leases it holds."""

    def __init__(
        self,
        app: Any,
        store: WebhookStore,
        feed: Feed,
        box: Callable[[], SecretBox],
        new_lease: Callable[[str], Lease],
        settings: Settings,
        *,
        poll: float = 0.2,
    ) -> None:
        self.app = app
        self.store = store
        self.feed = feed
        self._box = box
        self._new_lease = new_lease
        self.settings = settings
        self.poll = poll
        self.deliverers: dict[str, Deliverer] = {}
        self._leases: dict[str, Lease] = {}
        self._busy: dict[str, set[str]] = {}
        self._unreadable: set[str] = set()  # subscriptions whose secret did not open
        self._done: queue.Queue[tuple[str, str, list[Attempted] | BaseException]] = queue.Queue()
        self._stages = Stages(app)
        self._sender = Sender(
            allow_private=settings.webhook_allow_private, timeout=settings.webhook_timeout
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._wake: Waker | Wake | None = None
        self._refreshed = self._pruned = 0.0

    @classmethod
    def of(cls, app: Any, search: View[Any], new_lease: Callable[[str], Lease]) -> WebhookRunner:
        """The runner of ``app``'s store (``search``: the read model naming orders)."""
        settings: Settings = app.settings
        return cls(
            app, WebhookStore.of(app), Feed(app, numbers=numbers_in(search)),
            lambda: box_for(settings, app.recorder), new_lease, settings,
        )  # fmt: skip

    def box(self) -> SecretBox:
        """What seals and opens this store's webhook secrets (may raise ``AuditKeyMissing``)."""
        return self._box()

    def start(self, hub: WakerHub | None = None) -> WebhookRunner:
        self._stop.clear()
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook-send")
        self._wake = hub.subscribe() if hub is not None else Waker(self.feed.recorder)
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()
        return self

    def poke(self) -> None:
        """Look at the subscriptions again now (one was added, replayed or deleted)."""
        self._refreshed = 0.0
        if self._wake is not None:
            self._wake.event.set()

    def stop(self) -> None:
        self._stop.set()
        if self._wake is not None:
            self._wake.event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._collect()  # what was sent meanwhile is recorded, not sent again
        if self._wake is not None:
            self._wake.close()
        for lease in self._leases.values():
            lease.release()
        self._leases.clear()
        self.deliverers.clear()
        self._sender.close()

    def _run(self) -> None:
        assert self._wake is not None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                busy = self.step()
            except Exception:  # the store may be away: the next round retries
                log.warning("webhook deliveries failed a round", exc_info=True)
                busy = False
                self._stop.wait(1.0)
            if not busy:
                self._wake.wait(self.poll)
            # Rounds at most every MIN_INTERVAL: a steady stream of commits
            # (each a wake-up) is then delivered in batches, a few queries a round.
            pause = MIN_INTERVAL - (time.monotonic() - started)
            if pause > 0:
                self._stop.wait(pause)

    def step(self) -> bool:
        """One round: record what was sent, take events in, send what is due.
        True if it sent or recorded anything (another round follows at once)."""
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_SECONDS:
            self._refresh()
            self._refreshed = now
        if now - self._pruned >= PRUNE_SECONDS:
            self.store.prune(time.time() - KEEP_DELIVERED_SECONDS)
            self._pruned = now
        worked = self._collect()
        for deliverer in list(self.deliverers.values()):
            worked = self._deliver(deliverer) or worked
        return worked

    def _deliver(self, deliverer: Deliverer) -> bool:
        room = IN_FLIGHT - sum(len(orders) for orders in self._busy.values())
        if room <= 0:
            return False
        if not deliverer.take_in():  # replayed, disabled or deleted meanwhile
            self._reload(deliverer)
            return True
        busy = self._busy.setdefault(deliverer.id, set())
        chains = deliverer.plan(busy, room)
        for chain in chains:
            order = chain[0].delivery.order_id
            busy.add(order)
            self._submit(deliverer, order, chain)
        return bool(chains)

    def _submit(self, deliverer: Deliverer, order: str, chain: list[Any]) -> None:
        assert self._pool is not None

        def send() -> None:
            try:
                outcome: list[Attempted] | BaseException = deliverer.send(
                    self._sender, chain, self._stop.is_set
                )
            except BaseException as error:  # recorded as nothing sent: tried again
                outcome = error
            self._done.put((deliverer.id, order, outcome))
            if self._wake is not None:
                self._wake.event.set()

        self._pool.submit(send)

    def _collect(self) -> bool:
        """Record the attempts of every chain done; disable a subscription told 410."""
        done: dict[str, list[Attempted]] = {}
        while True:
            try:
                webhook_id, order, outcome = self._done.get_nowait()
            except queue.Empty:
                break
            self._busy.get(webhook_id, set()).discard(order)
            if isinstance(outcome, BaseException):
                log.warning("webhook %s: a delivery failed to run", webhook_id, exc_info=outcome)
                continue
            done.setdefault(webhook_id, []).extend(outcome)
        for webhook_id, attempts in done.items():
            self.store.record(webhook_id, attempts)
            if any(a.last_status == 410 for a in attempts):
                self.store.disable(webhook_id, "the receiver answered 410 Gone")
                self._drop(webhook_id)
                log.warning("webhook %s: disabled (410 Gone)", webhook_id)
        return bool(done)

    def _refresh(self) -> None:
        """Deliver the active subscriptions whose lease this process holds (or takes)."""
        active = {s.id: s for s in self.store.all() if s.status == "active"}
        for webhook_id in list(self.deliverers):
            if webhook_id not in active or not self._lease(webhook_id).acquire():
                self._drop(webhook_id)
        for webhook_id, subscription in active.items():
            if webhook_id not in self.deliverers and self._lease(webhook_id).acquire():
                self._adopt(subscription)

    def _adopt(self, subscription: Subscription) -> None:
        try:
            secret = self._box().open(subscription.id, subscription.secret)
        except Exception as error:  # no audit key, or another one: say so once, try later
            level = logging.DEBUG if subscription.id in self._unreadable else logging.WARNING
            log.log(level, "webhook %s: cannot open its secret: %s", subscription.id, error)
            self._unreadable.add(subscription.id)
            self._drop(subscription.id)
            return
        self._unreadable.discard(subscription.id)
        self.deliverers[subscription.id] = Deliverer(
            subscription, secret, self.store, self.feed, self._stages,
            retry_base=self.settings.webhook_retry_base,
            attempts=self.settings.webhook_attempts,
        )  # fmt: skip
        log.info("webhook %s: delivering to %s", subscription.id, subscription.url)

    def _reload(self, deliverer: Deliverer) -> None:
        """Read a subscription again after it moved under the deliverer."""
        subscription = self.store.get(deliverer.id)
        if subscription is None or subscription.status != "active":
            self._drop(deliverer.id)
        else:
            deliverer.subscription = subscription

    def _lease(self, webhook_id: str) -> Lease:
        lease = self._leases.get(webhook_id)
        if lease is None:
            lease = self._leases[webhook_id] = self._new_lease(f"webhook:{webhook_id}")
        return lease

    def _drop(self, webhook_id: str) -> None:
        """Stop delivering it here (its chains under way still get recorded)."""
        self.deliverers.pop(webhook_id, None)
        lease = self._leases.pop(webhook_id, None)
        if lease is not None:
            lease.release()
