"""The projections of ``ledger serve`` in a child process of their own.

Run in the workers, the projection runners (every read model folding every
event, the feed's items, webhooks, the scheduler's jobs) take turns with
the requests for each worker's interpreter lock: a step of the runners
holds it for milliseconds while requests wait (a fifth of a served
worker's time under creates, and the latency tail with it). So
``ledger serve`` starts ``ledger project`` beside its workers,
which then run none (``LEDGER_RUN_PROJECTIONS=false``): the same runners,
leases and jobs, in one process of their own, woken by PostgreSQL's
NOTIFY as the workers' runners were. That is the default on PostgreSQL
only: SQLite has no wake across processes (a runner elsewhere polls every
0.1 s, so a page read just after a command would more often miss it), and
the in-memory store cannot be shared at all; there they stay in the worker
unless ``--projections child`` asks (SQLite).

The child is started again a second after it dies, is stopped when the
server stops (SIGTERM, then SIGKILL after ``STOP_SECONDS``), and stops by
itself when the server's process is gone (``LEDGER_PROJECT_PARENT``: it
watches its parent's id), so a killed server leaves nothing behind. It is
in a session of its own, so a Ctrl-C meant for the server reaches it only
through the server's stop.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger("ledger.serve")

PARENT = "LEDGER_PROJECT_PARENT"  # the server's pid, for the child to watch
COMMAND = "import sys; from ledger.cli import main; sys.exit(main(['project']))"
RESTART_SECONDS = 1.0
STOP_SECONDS = 15.0


class ProjectionProcess:
    """``ledger project`` as a child, kept running until ``stop``."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watch = threading.Thread(target=self._keep, name="projector", daemon=True)

    def start(self) -> ProjectionProcess:
        self._spawn()
        self._watch.start()
        return self

    def _spawn(self) -> None:
        env = {**os.environ, PARENT: str(os.getpid())}
        env.pop("LEDGER_RUN_PROJECTIONS", None)  # the workers' setting, not the child's
        with self._lock:
            if self._stop.is_set():
                return
            self.process = subprocess.Popen(
                [sys.executable, "-c", COMMAND], env=env, start_new_session=True
            )
            self.starts += 1

    def _keep(self) -> None:
        while not self._stop.wait(RESTART_SECONDS):
            process = self.process
            if process is not None and process.poll() is not None:
                log.warning("the projection process exited (%s); starting it again",
                            process.returncode)  # fmt: skip
                self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def parent_gone() -> bool:
    """In ``ledger project`` started by a server: whether that server has gone
    (this process was handed to another parent)."""
    parent = os.environ.get(PARENT)
    return parent is not None and os.getppid() != int(parent)
