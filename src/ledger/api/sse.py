"""Server-Sent Events for the change feed: the stream of one client.

``EventStream`` writes what its source yields and ends when the client
leaves. A client that stops taking what is written is not waited for: when
one write has waited ``stall`` seconds the stream gives up and the server
closes the connection (so a stalled client holds nothing), and a client too
slow for its buffer is dropped by the tail (``integration.tail``). Each
event is ``id: <position>`` and ``data: <the feed item as JSON>``; a comment
line is written when nothing happened for ``heartbeat`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ledger.api.deps import in_thread
from ledger.integration.feed import FeedPage
from ledger.integration.tail import FeedTail, Item, Listener

log = logging.getLogger("ledger.api")
HISTORY_PAGE = 500


def frame(item: Item) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (item["position"], orjson.dumps(item))


HEARTBEAT = b": heartbeat\n\n"
END = {"type": "http.response.body", "body": b"", "more_body": False}
DROPPED = b": dropped: this stream fell behind; reconnect with Last-Event-ID\n\n"


class EventStream(Response):
    """A ``text/event-stream`` response written from an async iterator of frames."""

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[bytes], stall: float) -> None:
        # Not Response.__init__: it would declare the empty body's length.
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),  # proxies must not buffer the stream
        ]
        self.frames = frames
        self.stall = stall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            completed = await self._stream(receive, send)
        except asyncio.CancelledError:
            # The server is stopping: uvicorn cancels the streams still open
            # after its graceful timeout. End this one properly all the same.
            completed = True
        if completed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(send(END), 1.0)

    async def _stream(self, receive: Receive, send: Send) -> bool:
        """Write the frames until they end or the client leaves; False if it stalled."""
        completed = True
        async with anyio.create_task_group() as group:

            async def leave_with_client() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(leave_with_client)
            try:
                completed = await self._write(send)
            finally:
                with contextlib.suppress(Exception):
                    await self.frames.aclose()  # type: ignore[attr-defined]
            group.cancel_scope.cancel()
        return completed

    async def _write(self, send: Send) -> bool:
        """Write every frame; False if a write stalled (the client is given up)."""
        async for chunk in self.frames:
            with anyio.move_on_after(self.stall) as waited:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if waited.cancelled_caught:
                log.warning("a change-feed client took no data for %s s: closing", self.stall)
                return False
        return True


async def feed_frames(
    tail: FeedTail,
    listener: Listener,
    read: Callable[[int, int], FeedPage],
    after: int,
    heartbeat: float,
) -> AsyncIterator[bytes]:
    """The frames of one client: the log after ``after`` up to where the tail
    was when it joined (``read(position, stop)``), then what the tail offers."""
    start = tail.subscribe(listener)
    position = after
    try:
        while position < start:
            page = await in_thread(partial(read, position, start))
            for item in page.events:
                yield frame(item)
            position = max(page.next, position)
        async for chunk in _live(listener, position, heartbeat):
            yield chunk
    finally:
        tail.unsubscribe(listener)


async def _live(listener: Listener, position: int, heartbeat: float) -> AsyncIterator[bytes]:
    while not listener.dropped:
        listener.wake.clear()
        items = listener.take()
        if items:
            frames = [frame(item) for item in items if item["position"] > position]
            if frames:
                position = max(item["position"] for item in items)
                yield b"".join(frames)
            continue
        try:
            await asyncio.wait_for(listener.wake.wait(), heartbeat)
        except TimeoutError:
            yield HEARTBEAT
    yield DROPPED


def wants(types: tuple[str, ...], order: str | None) -> Callable[[Any], bool]:
    """A listener's filter: these types (all when empty or ``*``), this order (any when None)."""
    kinds = frozenset(types) if types and "*" not in types else None

    def wanted(item: Item) -> bool:
        return (kinds is None or item["type"] in kinds) and (
            order is None or item["order_id"] == order
        )

    return wanted
