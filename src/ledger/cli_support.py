"""What every ``ledger`` command shares: exit statuses, one-line refusals, a
progress bar, argument types, order references, and output files written
whole or not at all.

Exit statuses: 0 done; 1 the check found breaks (``audit verify``/``seal``);
2 refused: a usage error, a bad setting, an unknown order, a missing or
unwritable file, an unreachable store, a refused restore; 3 the audit key
is not the one that sealed (not a sign of tampering); 130 interrupted;
141 the output pipe was closed (``ledger … | head``), as a Unix tool ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TextIO, TypeVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError

from ledger.application import LedgerError, order_id_for
from ledger.audit.backup_format import BackupRefused
from ledger.audit.keys import AuditKeyProblem
from ledger.files import private_output

T = TypeVar("T")

EXIT_FINDINGS, EXIT_REFUSED, EXIT_WRONG_KEY = 1, 2, 3
EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 130, 141


class Refused(Exception):
    """A command refused for a reason its user can fix (exit status 2)."""


def run(command: Callable[[T], int], argument: T) -> int:
    """Run one command: a refusal becomes one line on stderr and exit status 2,
    a closed output pipe a quiet end; anything else is a bug and keeps its traceback."""
    try:
        try:
            return command(argument)
        finally:  # also after argparse's --help, which exits
            sys.stdout.flush()
    except BrokenPipeError:
        _silence()
        return EXIT_CLOSED_PIPE
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        message = refusal(error)
        if message is None:
            raise
        _say(message)
        return EXIT_REFUSED


def _say(message: str) -> None:
    start = "\n" if Progress.line_open else ""  # not after a half-drawn bar
    Progress.line_open = False
    try:
        print(f"{start}ledger: {message}", file=sys.stderr)
    except BrokenPipeError:
        _silence()


def _silence() -> None:
    """Point stdout and stderr at /dev/null, so flushing them at exit raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())


def refusal(error: BaseException) -> str | None:
    """The one line that tells the user what to fix, or ``None`` for a bug."""
    if isinstance(error, ValidationError):
        return "; ".join(_setting_error(e) for e in error.errors())
    if isinstance(error, LedgerError):
        return error.message
    if isinstance(error, Refused | AuditKeyProblem | BackupRefused):
        return str(error)
    if isinstance(error, OperationalError | InterfaceError):
        return f"cannot use the store: {error}"
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return None


def _setting_error(error: Any) -> str:
    name = "LEDGER_" + "_".join(map(str, error["loc"])).upper()
    return f"{name}: {str(error['msg']).removeprefix('Value error, ')}"


# -- argument types ------------------------------------------------------------------


def month(text: str) -> str:
    """``YYYY-MM`` with a real month."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM, 01 to 12)")
    return text


def moment(text: str) -> datetime:
    """An ISO 8601 time; without a zone, UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-06-30T18:00)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


# -- orders --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRef:
    """An order as the user named it (``given``: its id or its number)."""

    id: UUID
    given: str
    versions: int


def find_order(ledger: Any, given: str) -> OrderRef:
    """The order ``given`` names, by id or by number; ``Refused`` naming what was typed."""
    if not given.strip():
        raise Refused("name the order by its number (SO-2026-000123) or its id")
    try:
        order_id = UUID(given)
    except ValueError:
        order_id = order_id_for(given)
    last = ledger.recorder.select_events(order_id, desc=True, limit=1)
    if not last:
        raise Refused(f"no order {given}")
    return OrderRef(order_id, given, last[0].originator_version)


# -- output files --------------------------------------------------------------------


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[BinaryIO]:
    """A file only its owner reads, in place once complete: a failed command
    leaves neither a partial file nor a temporary one."""
    if path.is_dir():
        raise Refused(f"{path} is a directory")
    opened = private_output(path)
    try:
        out = opened.__enter__()
    except OSError as e:
        raise Refused(f"cannot write {path}: {e.strerror}") from None
    with contextlib.ExitStack() as stack:
        stack.push(opened)
        yield out


# -- progress ------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    line_open: ClassVar[bool] = False  # a bar is drawn and its line not ended

    def __init__(self, what: str, total: int | None, stream: TextIO | None = None) -> None:
        self.what, self.total, self.stream = what, total, stream or sys.stderr
        self.done, self._drawn, self.started = 0, 0.0, time.monotonic()

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        Progress.line_open = True
        if self.total:
            filled = min(30, 30 * self.done // max(self.total, 1))
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r{self.what} [{bar}] {self.done}/{self.total}")
        else:
            self.stream.write(f"\r{self.what} {self.done}")
        self.stream.flush()

    def finish(self) -> None:
        self._draw()
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(f"  ({rate:,.0f}/s)\n")
        Progress.line_open = False
