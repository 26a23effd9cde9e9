"""The head of the change feed, fanned out to the streaming clients of a process.

One thread follows the log (woken by PostgreSQL's NOTIFY, or polling
SQLite) and decodes each new event once; every listener (one per
``GET /events/stream`` client) gets the events it asked for in a buffer of
its own, bounded. The thread never waits for a client: a listener whose
buffer is full is dropped (it stops receiving, and its stream ends so the
client reconnects with ``Last-Event-ID`` and reads what it missed from the
log), and the other listeners go on. The thread runs while someone listens.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ledger.integration.feed import Feed
from ledger.projections.runner import Waker

log = logging.getLogger("ledger.integration")

Item = dict[str, Any]
BUFFER = 1000
"""Events a listener may have waiting before it is dropped."""
STALL_SECONDS = 10.0
"""How long a stream may wait for a client to take a write before it gives up."""


class Listener:
    """One streaming client's share of the tail: its filter and its buffer."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, wants: Callable[[Item], bool], opened: bool
    ) -> None:
        self.loop = loop
        self.wants = wants
        self.opened = opened
        self.wake = asyncio.Event()
        self.dropped = False
        self.limit = BUFFER
        self._items: deque[Item] = deque()
        self._lock = threading.Lock()

    def offer(self, items: list[Item]) -> None:
        """From the tail's thread: buffer the wanted items, or drop this listener."""
        with self._lock:
            if self.dropped:
                return
            for item in items:
                if self.wants(item):
                    if len(self._items) >= self.limit:
                        self.dropped = True
                        self._items.clear()
                        break
                    self._items.append(item)
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # its event loop has closed: the stream is over
            self.dropped = True

    def take(self) -> list[Item]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items


class FeedTail:
    """Follows the log from the head and hands each new event to the listeners."""

    def __init__(self, feed: Feed, *, page: int = 500, poll: float = 0.2) -> None:
        self.feed = feed
        self.page = page
        self.poll = poll
        self.buffer = BUFFER
        self.stall = STALL_SECONDS
        self.position = 0
        self.dropped = 0  # listeners dropped so far (for tests and logs)
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def subscribe(self, listener: Listener) -> int:
        """Add a listener; returns the position after which it will be offered
        events (the caller reads the log up to there itself)."""
        with self._lock:
            listener.limit = self.buffer
            if self._thread is None:
                self.position = self.feed.head()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="feed-tail", daemon=True)
                self._thread.start()
            self._listeners.add(listener)
            return self.position

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        waker = Waker(self.feed.recorder)
        try:
            while not self._stop.is_set():
                with self._lock:
                    if not self._listeners:
                        self._thread = None  # the next listener starts another
                        return
                try:
                    self._step()
                except Exception:  # the store may be away: the next wake retries
                    log.warning("the change feed's tail failed to read", exc_info=True)
                    self._stop.wait(1.0)
                waker.wait(self.poll)
        finally:
            waker.close()
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _step(self) -> None:
        """Offer every event after ``position`` to the listeners, a page at a time."""
        while not self._stop.is_set():
            notes = self.feed.recorder.select_notifications(
                self.position, self.page, inclusive_of_start=False
            )
            if not notes:
                return
            with self._lock:
                flags = {listener.opened for listener in self._listeners}
            # Decoded outside the lock: a client joining meanwhile is not kept waiting.
            decoded = {opened: self.feed.items(notes, opened) for opened in flags}
            with self._lock:
                for listener in list(self._listeners):
                    if listener.opened not in decoded:  # joined since: decoded now
                        decoded[listener.opened] = self.feed.items(notes, listener.opened)
                    listener.offer(decoded[listener.opened])
                    if listener.dropped:
                        self._listeners.discard(listener)
                        self.dropped += 1
                        log.warning("a change-feed stream fell %d events behind: dropped",
                                    listener.limit)  # fmt: skip
                self.position = notes[-1].id
            if len(notes) < self.page:
                return
