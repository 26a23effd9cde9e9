"""Fewer garbage collections while a bulk job builds a large heap, and
none of a serving process's start-up heap (``freeze_heap``).

A demo load or a rebuild keeps every order (or every row) alive while it
makes millions of short-lived objects (decoded events, copied rows). With
Python's default threshold (a collection every 700 new objects) the
collector keeps walking a heap that only grows: a quarter of such a run.
``few_collections`` freezes what exists (modules, the application: never
walked again) and collects young objects every ``THRESHOLD`` instead. The
setting is the process's: nested or overlapping uses (two rebuilds in
threads) share it, and the last one out restores the old one. A heap that
was frozen before (a served process's, ``freeze_heap``) is frozen again at
the end, minus what the job left behind: ``gc.unfreeze`` has no partial form.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLD = 100_000
SERVED_THRESHOLD = 20_000
"""A served worker's young collections: every this many new objects rather
than Python's 700 (``serve_collections``)."""

_lock = threading.Lock()
_users = 0
_before: tuple[int, ...] = ()
_was_frozen = False


@contextmanager
def few_collections() -> Iterator[None]:
    global _users, _before, _was_frozen
    with _lock:
        if _users == 0:
            _before = gc.get_threshold()
            _was_frozen = gc.get_freeze_count() > 0
            gc.freeze()
            gc.set_threshold(THRESHOLD, *_before[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_before)
                gc.unfreeze()
                if _was_frozen:
                    freeze_heap()


def freeze_heap() -> None:
    """Leave what exists now out of every later collection (``gc.freeze``).

    A serving process's heap once started (modules, the framework, the
    routes, the application) lives as long as the process; the collector
    walked all of it in each full collection, and a request that builds
    many objects (a page of the change feed) triggers such collections
    often (see docs/performance.md). Objects made later are collected as
    usual. Called again after a late import (the forecast's
    warm-up) to freeze what that brought in.
    """
    gc.collect()
    gc.freeze()


def serve_collections() -> None:
    """A served worker's collector: its start-up heap frozen (``freeze_heap``)
    and young objects collected every ``SERVED_THRESHOLD`` new ones. A request
    makes a few thousand objects that die with it (refcounting frees them);
    at Python's default a collection ran several times per request and a full
    one every few hundred requests, a pause each for whoever waited on the
    worker (see docs/performance.md)."""
    freeze_heap()
    gc.set_threshold(SERVED_THRESHOLD, *gc.get_threshold()[1:])
