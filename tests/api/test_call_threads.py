"""The threads that run commands off the event loop (``ledger.api.threads``)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loops
from ledger.api.threads import CallThreads

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_a_call_runs_off_the_loop_in_the_callers_context_and_gives_its_result() -> None:
    pool = CallThreads(2, "t")

    async def main() -> tuple[str, str, int]:
        WHO.set("王芳")
        loop_thread = threading.current_thread().name
        where, who = await pool.run(lambda: (threading.current_thread().name, WHO.get()))
        assert where != loop_thread
        return where, who, await pool.run(lambda: 6 * 7)

    where, who, answer = loops.run(main())
    assert where.startswith("t-") and who == "王芳" and answer == 42


def test_an_exception_reaches_the_caller_and_the_thread_serves_the_next_call() -> None:
    pool = CallThreads(1, "t")

    def fail() -> None:
        raise LookupError("no such order")

    async def main() -> int:
        with pytest.raises(LookupError, match="no such order"):
            await pool.run(fail)
        return await pool.run(lambda: 1)

    assert loops.run(main()) == 1


@settings(max_examples=20, deadline=None)
@given(size=st.integers(1, 4), calls=st.integers(1, 24))
def test_size_calls_run_at_once_every_call_completes_and_no_more_threads_start(
    size: int, calls: int
) -> None:
    """The first calls wait until ``size`` of them (or all, if fewer) run at
    once: so that many threads run together; the rest are taken as threads free."""
    pool = CallThreads(size, "t")
    together = min(size, calls)
    lock = threading.Lock()
    started = [0]
    all_in = threading.Event()
    names: set[str] = set()

    def call(i: int) -> int:
        with lock:
            names.add(threading.current_thread().name)
            started[0] += 1
            if started[0] >= together:
                all_in.set()
        assert all_in.wait(timeout=10), "fewer calls ran at once than threads allowed"
        return i

    def bound(i: int) -> Callable[[], int]:
        return lambda: call(i)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(pool.run(bound(i)) for i in range(calls))))

    assert loops.run(main()) == list(range(calls))
    assert together <= len(names) <= size
