"""``asyncio.run`` for tests, in a thread of its own: under ``pytest -n`` the
browser tests' worker holds a running event loop in its main thread for the
whole session (Playwright's sync API), and ``asyncio.run`` refuses to start
another there."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a new thread; its result or its exception."""
    with ThreadPoolExecutor(1, thread_name_prefix="loop") as thread:
        return thread.submit(asyncio.run, main).result()
