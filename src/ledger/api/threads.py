"""The threads that run commands (and other blocking calls) off the event loop.

``asyncio``'s ``run_in_executor`` on a ``ThreadPoolExecutor`` made, per call, a
``concurrent.futures.Future`` (a ``Condition`` and its lock), a work item and
an asyncio future chained to it by callbacks, and checked the pool's idle
semaphore: a visible share of a command's CPU in the server's profile (see
docs/performance.md). Here a call is one tuple put on a ``SimpleQueue`` (a C
queue); a worker thread runs it in the caller's context and hands the result
to the caller's loop with one ``call_soon_threadsafe``. Threads start as
calls need them, up to ``size``, and stay (daemon threads: a served
process's requests are drained by uvicorn before it exits).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Call = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[[], Any]
]


class CallThreads:
    """Up to ``size`` threads taking calls from one queue."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` on one of the threads, in a copy of the caller's context."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, contextvars.copy_context(), call))
        with self._lock:
            start = self._idle <= 0 and self._threads < self.size
            if start:
                self._threads += 1
                number = self._threads
            else:
                self._idle -= 1  # this call takes an idle thread (or waits its turn)
        if start:
            threading.Thread(target=self._work, name=f"{self.name}-{number}",
                             daemon=True).start()  # fmt: skip
        return await future

    def _work(self) -> None:
        while True:
            loop, future, context, call = self._calls.get()
            try:
                result = context.run(call)
            except BaseException as error:  # handed to the caller, as an executor does
                _settle(loop, future, error, None)
            else:
                _settle(loop, future, None, result)
            result = None  # nothing of this call kept while idle
            del loop, future, context, call
            with self._lock:
                self._idle += 1


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    error: BaseException | None,
    result: Any,
) -> None:
    def done() -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    # The loop may have closed while the call ran: then no one waits for it.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(done)
