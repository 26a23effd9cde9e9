"""``ledger audit verify|seal|export``, ``ledger replay``, ``ledger backup|restore``.

Each ``add_*`` adds one subcommand to the ``ledger`` parser; the work is
imported when the command runs, so ``ledger --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

Subparsers = Any


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, what: str, total: int | None, stream: TextIO = sys.stderr) -> None:
        self.what, self.total, self.stream = what, total, stream
        self.done, self._drawn, self.started = 0, 0.0, time.monotonic()

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
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


@contextmanager
def opened_ledger() -> Iterator[Any]:
    from ledger.application import Ledger
    from ledger.settings import get_settings

    ledger = Ledger(get_settings())
    try:
        yield ledger
    finally:
        ledger.close()


def guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the refusals an operator can fix into a message and exit status 2."""

    def handler(args: argparse.Namespace) -> int:
        from ledger.application import LedgerError
        from ledger.audit.backup_format import BackupRefused
        from ledger.audit.keys import AuditKeyMissing

        try:
            return run(args)
        except (AuditKeyMissing, BackupRefused) as e:
            print(f"ledger: {e}", file=sys.stderr)
        except LedgerError as e:
            print(f"ledger: {e.message}", file=sys.stderr)
        return 2

    return handler


# -- audit ---------------------------------------------------------------------


def add_audit(subparsers: Subparsers) -> None:
    audit = subparsers.add_parser("audit", help="verify the hash chain, seal it, export orders")
    commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = commands.add_parser("verify", help="check the store (or one order, or an export file)")
    verify.add_argument("--order", type=UUID, help="check only this order id")
    verify.add_argument("--file", type=Path, help="check an export file offline (no database)")
    verify.add_argument("--key", help="audit key for --file (default: LEDGER_AUDIT_KEY)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=guarded(audit_verify))
    seal = commands.add_parser("seal", help="verify, then seal every clean order's chain head")
    seal.set_defaults(handler=guarded(audit_seal))
    export = commands.add_parser("export", help="orders' histories as JSON Lines with the chain")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("order", nargs="?", help="order id or number")
    which.add_argument("--period", help="orders received in YYYY-MM")
    which.add_argument("--customer", help="orders of this customer")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.set_defaults(handler=guarded(audit_export))


def audit_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        return _verify_file(args)
    from ledger.audit.service import verify_store

    with opened_ledger() as ledger:
        progress = Progress("verify", ledger.recorder.max_notification_id())
        report = verify_store(ledger, args.order, progress)
        progress.finish()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for f in report.findings:
            print(f"BREAK order {f.order} version {f.version}: {f.kind} — {f.detail}")
        verdict = "clean" if report.ok else f"{len(report.findings)} break(s)"
        print(
            f"{verdict}: {report.events} events of {report.orders} orders checked; "
            f"{report.sealed_orders} orders sealed, "
            f"{report.unsealed_events} events after the last seal"
        )
    return 0 if report.ok else 1


def _verify_file(args: argparse.Namespace) -> int:
    from ledger.audit.offline import verify_file

    key_text = args.key or os.environ.get("LEDGER_AUDIT_KEY")
    report = verify_file(args.file, key_text.encode() if key_text else None)
    for problem in report.problems:
        print(f"BREAK {args.file}: {problem}")
    signed = "manifest MAC verified" if report.mac_checked else "no key: manifest MAC not checked"
    verdict = "clean" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{verdict}: {report.lines} lines, {report.orders} orders; {signed}")
    return 0 if report.ok else 1


def audit_seal(args: argparse.Namespace) -> int:
    from ledger.audit.service import seal

    with opened_ledger() as ledger:
        report, sealed = seal(ledger)
    print(f"sealed {sealed} chain heads; {len(report.findings)} order break(s) left unsealed")
    return 0 if report.ok else 1


def audit_export(args: argparse.Namespace) -> int:
    from ledger.audit.export import export_lines, select_orders
    from ledger.files import private_output

    with opened_ledger() as ledger:
        if args.order:
            orders = [_order_id(ledger, args.order)]
        else:
            orders = select_orders(ledger, period=args.period, customer=args.customer)
        # An export carries decoded personal data: a file of it is the owner's only.
        with private_output(args.output) if args.output else nullcontext(sys.stdout.buffer) as out:
            for line in export_lines(ledger, orders):
                out.write(line)
    print(f"exported {len(orders)} order(s)", file=sys.stderr)
    return 0


def _order_id(ledger: Any, given: str) -> UUID:
    try:
        return UUID(given)
    except ValueError:
        return UUID(str(ledger.find_by_number(given).id))


# -- replay --------------------------------------------------------------------


def add_replay(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("replay", help="an order's events with what each changed")
    parser.add_argument("order", help="order id or number")
    point = parser.add_mutually_exclusive_group()
    point.add_argument("--until", type=datetime.fromisoformat, help="ISO 8601 recorded time")
    point.add_argument("--version", type=int, help="stop at this version")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=guarded(run_replay))


def run_replay(args: argparse.Namespace) -> int:
    from ledger.audit.replay import replay

    with opened_ledger() as ledger:
        result = replay(
            ledger, _order_id(ledger, args.order), until=args.until, version=args.version
        )
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return 0
    for step in result.steps:
        print(f"v{step.version} {step.recorded_at} {step.type} by {step.actor or '-'}")
        for key, (before, after) in step.changes.items():
            print(f"    {key}: {before} -> {after}")
    print(json.dumps(result.state, indent=2, ensure_ascii=False))
    return 0


# -- backup and restore --------------------------------------------------------------


def add_backup(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("backup", help="write every stored event to a file")
    parser.add_argument("file", type=Path)
    parser.set_defaults(handler=guarded(run_backup))


def run_backup(args: argparse.Namespace) -> int:
    from ledger.audit.backup import backup

    with opened_ledger() as ledger:
        progress = Progress("backup", ledger.recorder.max_notification_id())
        manifest = backup(ledger, args.file, progress)
        progress.finish()
    print(f"backed up {manifest['counts']['events']} events to {args.file}")
    return 0


def add_restore(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("restore", help="load a backup into an empty store")
    parser.add_argument("file", type=Path)
    parser.set_defaults(handler=guarded(run_restore))


def run_restore(args: argparse.Namespace) -> int:
    from ledger.audit.restore import restore

    with opened_ledger() as ledger:
        progress = Progress("restore", None)
        counts = restore(ledger, args.file, progress)
        progress.finish()
    print(f"restored {counts['events']} events of {counts['orders']} orders; projections rebuilt")
    return 0


COMMANDS = (add_audit, add_replay, add_backup, add_restore)
