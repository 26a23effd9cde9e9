"""``ledger audit verify|seal|export``, ``ledger replay``, ``ledger backup``.

Each ``add_*`` adds one subcommand to the ``ledger`` parser. Refusals
are raised (``Refused`` and the audit's own) and turned into one line and
exit status 2 by ``ledger.cli_support.run``; the statuses are listed there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ledger.application import Ledger, OrderNotFound
from ledger.audit.backup import backup
from ledger.audit.export import export_lines, select_orders
from ledger.audit.keys import checked_key
from ledger.audit.offline import verify_file
from ledger.audit.replay import replay
from ledger.audit.service import seal, verify_store
from ledger.cli_support import (
    EXIT_FINDINGS,
    EXIT_WRONG_KEY,
    Progress,
    Refused,
    find_order,
    moment,
    month,
    positive,
    written_whole,
)
from ledger.settings import get_settings, parse_database_url

Subparsers = Any


@contextmanager
def opened_ledger(*, create: bool = False) -> Iterator[Any]:
    """The store of the settings. Unless ``create``, an embedded store's folder
    must exist: checking, exporting or backing up a mistyped path would
    otherwise make folders and an empty store there, and report on it."""
    settings = get_settings()
    target = parse_database_url(settings.database_url)
    folder = Path(target.path).parent
    if not create and target.backend == "sqlite" and not folder.is_dir():
        raise Refused(f"no store at {target.path}: no folder {folder} (LEDGER_DATABASE_URL)")
    ledger = Ledger(settings)
    try:
        yield ledger
    finally:
        ledger.close()


# -- audit ---------------------------------------------------------------------


def add_audit(subparsers: Subparsers) -> None:
    audit = subparsers.add_parser("audit", help="verify the hash chain, seal it, export orders")
    commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = commands.add_parser("verify", help="check the store (or one order, or an export file)")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--order", help="check only this order (id or number)")
    source.add_argument("--file", type=Path, help="check an export file offline (no database)")
    verify.add_argument("--key", help="audit key for --file (default: LEDGER_AUDIT_KEY)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=audit_verify)
    seal = commands.add_parser("seal", help="verify, then seal every clean order's chain head")
    seal.set_defaults(handler=audit_seal)
    export = commands.add_parser("export", help="orders' histories as JSON Lines with the chain")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("order", nargs="?", help="order id or number")
    which.add_argument("--period", type=month, help="orders received in YYYY-MM")
    which.add_argument("--customer", help="orders of this customer")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.set_defaults(handler=audit_export)


def audit_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        return _verify_file(args)
    if args.key is not None:
        raise Refused("--key is for --file; the store is checked with LEDGER_AUDIT_KEY")

    with opened_ledger() as ledger:
        if args.order is not None:
            order = find_order(ledger, args.order)
            progress = Progress("verify", order.versions)
            report = verify_store(ledger, order.id, progress)
        else:
            progress = Progress("verify", ledger.recorder.max_notification_id())
            report = verify_store(ledger, None, progress)
        progress.finish()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(report)
    return EXIT_FINDINGS if report.findings else EXIT_WRONG_KEY if report.other_keys else 0


def _print_report(report: Any) -> None:
    for f in report.findings:
        print(f"BREAK order {f.order} version {f.version}: {f.kind} — {f.detail}")
    if report.other_keys:
        print(f"KEY {report.key_statement()}")
    verdict = {"clean": "clean", "wrong_key": "wrong key"}.get(
        report.verdict, f"{len(report.findings)} break(s)"
    )
    print(
        f"{verdict}: {report.events} events of {report.orders} orders checked; "
        f"{report.sealed_orders} orders sealed, "
        f"{report.unsealed_events} events after the last seal"
    )


MAC_VERDICTS = {
    "verified": "manifest MAC verified",
    "failed": "manifest MAC does not verify",
    "unchecked": "no key: manifest MAC not checked",
    "wrong_key": "manifest MAC not checked (another key)",
}


def _verify_file(args: argparse.Namespace) -> int:

    key_text = args.key if args.key is not None else os.environ.get("LEDGER_AUDIT_KEY")
    source = "--key" if args.key is not None else "LEDGER_AUDIT_KEY"
    key = checked_key(key_text.encode(), source) if key_text else None
    report = verify_file(args.file, key)
    for problem in report.problems:
        print(f"BREAK {args.file}: {problem}")
    if report.other_keys:
        print(f"KEY {args.file}: {report.key_statement()}")
    verdict = "clean" if report.ok else f"{len(report.problems)} problem(s)"
    if not report.problems and report.other_keys:
        verdict = "wrong key"
    print(f"{verdict}: {report.lines} lines, {report.orders} orders; {MAC_VERDICTS[report.mac]}")
    if report.problems:
        return EXIT_FINDINGS
    return EXIT_WRONG_KEY if report.other_keys else 0


def audit_seal(args: argparse.Namespace) -> int:

    with opened_ledger() as ledger:
        report, sealed = seal(ledger)
    if report.other_keys:
        print(f"KEY {report.key_statement()}")
        print("nothing sealed: the store's seals were made with another key")
        return EXIT_WRONG_KEY
    print(f"sealed {sealed} chain heads; {len(report.findings)} order break(s) left unsealed")
    return 0 if report.ok else EXIT_FINDINGS


def audit_export(args: argparse.Namespace) -> int:

    with opened_ledger() as ledger:
        if args.order:
            orders = [find_order(ledger, args.order).id]
        else:
            orders = select_orders(ledger, period=args.period, customer=args.customer)
            if args.customer is not None and not orders:
                raise Refused(f"no orders of customer {args.customer!r}")
        lines = export_lines(ledger, orders)
        if args.output is None:
            sys.stdout.buffer.writelines(lines)
        else:
            with written_whole(args.output) as out:
                out.writelines(lines)
    print(f"exported {len(orders)} order(s)", file=sys.stderr)
    return 0


# -- replay --------------------------------------------------------------------


def add_replay(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("replay", help="an order's events with what each changed")
    parser.add_argument("order", help="order id or number")
    point = parser.add_mutually_exclusive_group()
    point.add_argument("--until", type=moment, help="ISO 8601 recorded time (UTC if no zone)")
    point.add_argument("--version", type=positive, help="stop at this version")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace) -> int:

    with opened_ledger() as ledger:
        order = find_order(ledger, args.order)
        if args.version is not None and args.version > order.versions:
            raise Refused(
                f"order {args.order} has {order.versions} versions; there is no version "
                f"{args.version}"
            )
        try:
            result = replay(ledger, order.id, until=args.until, version=args.version)
        except OrderNotFound:
            raise Refused(f"order {args.order} did not exist at {args.until.isoformat()}") from None
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return 0
    for step in result.steps:
        print(f"v{step.version} {step.recorded_at} {step.type} by {step.actor or '-'}")
        for key, (before, after) in step.changes.items():
            print(f"    {key}: {before} -> {after}")
    print(json.dumps(result.state, indent=2, ensure_ascii=False))
    return 0


# -- backup --------------------------------------------------------------


def add_backup(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("backup", help="write every stored event to a file")
    parser.add_argument("file", type=Path)
    parser.set_defaults(handler=run_backup)


def run_backup(args: argparse.Namespace) -> int:

    if args.file.is_dir():
        raise Refused(f"{args.file} is a directory; name the backup file")
    if not args.file.parent.is_dir():
        raise Refused(f"{args.file.parent} is not a directory")
    with opened_ledger() as ledger:
        progress = Progress("backup", ledger.recorder.max_notification_id())
        manifest = backup(ledger, args.file, progress)
        progress.finish()
    print(f"backed up {manifest['counts']['events']} events to {args.file}")
    return 0
