"""``ledger import FILE [--commit]``: the bulk intake from the command line.

Without ``--commit`` a dry run: every row is checked and the problems are
listed; nothing is recorded. Exit status: 0 when the file is valid (and,
with ``--commit``, recorded), 1 when it has problems (nothing recorded),
2 when the file cannot be opened.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ledger.application import Ctx, Ledger
from ledger.settings import get_settings
from ledger.sheets.limits import MAX_FILE_BYTES


def add_import_command(subparsers: Any) -> None:
    """Register ``ledger import`` (``subparsers`` is argparse's subparsers action)."""
    parser = subparsers.add_parser(
        "import",
        help="check an .xlsx or .csv file of orders, and record it with --commit",
        description="Bulk intake of orders from a file in the template's layout "
        "(GET /imports/template.xlsx): one row per order line, rows with the same "
        "customer reference form one order. A dry run unless --commit; a file with "
        "any problem records nothing; the same file committed again records nothing new.",
    )
    parser.add_argument("file", type=Path, help="the .xlsx or .csv file")
    parser.add_argument("--commit", action="store_true", help="record the orders")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of the messages (default: from LANG)")  # fmt: skip
    parser.add_argument("--actor", default=None, help="who is recorded (default cli:<user>)")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(handler=import_file)


def import_file(args: argparse.Namespace) -> int:
    # openpyxl, calamine and numpy: loaded only to import a file.
    from ledger.api.intake.checking import check_file
    from ledger.api.intake.report import report

    lang = args.lang or ("zh" if os.environ.get("LANG", "").lower().startswith("zh") else "en")
    try:
        with args.file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        print(f"ledger import: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    intake = check_file(data, args.file.name)
    outcomes = _commit(args, intake) if args.commit and intake.valid else None
    body = report(intake, lang, outcomes)
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2, default=str))
    else:
        _print(body, sys.stdout)
    return 0 if intake.valid else 1


def _commit(args: argparse.Namespace, intake: Any) -> Any:
    from ledger.api.intake.commit import commit_file  # as in import_file

    bar = _Bar(sys.stderr)
    ledger = Ledger(get_settings())
    try:
        ctx = Ctx(actor=args.actor or f"cli:{_user()}")
        return commit_file(ledger, ctx, intake, progress=bar.show)
    finally:
        bar.finish()
        ledger.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return str(os.getuid())


def _print(body: dict[str, Any], out: TextIO) -> None:
    for problem in [*body["problems"], *body["notes"]]:
        where = problem["cell"] or (f"row {problem['row']}" if problem["row"] else "file")
        value = f" [{problem['value']}]" if problem["value"] else ""
        print(f"{where}: {problem['message']}{value}", file=out)
    listed = body["summary"]["problems"] - len(body["problems"])
    if listed > 0:
        print(f"… {listed} more", file=out)
    for order in body["orders"]:
        if order.get("status") == "recorded":
            print(f"{order['customer_ref']} → {order['number']}", file=out)
    print(body["message"], file=out)


class _Bar:
    """The commit's progress on stderr: orders recorded of the file's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.started, self.drawn = stream, time.monotonic(), False

    def show(self, done: int, total: int) -> None:
        if done != total and done % 50:
            return
        filled = 30 * done // max(total, 1)
        self.stream.write(f"\rimport [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write(f"  {time.monotonic() - self.started:.1f}s\n")
