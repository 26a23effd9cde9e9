"""The ``ledger demo`` subcommand: its arguments and its handler."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import Any

from ledger.aggregates.values import FIRST_DAY, LAST_DAY
from ledger.application import Ledger
from ledger.cli_support import Refused, positive
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.settings import get_settings


def add_demo_command(subparsers: Any) -> None:
    """Register ``ledger demo`` (``subparsers`` is argparse's subparsers action)."""
    parser = subparsers.add_parser(
        "demo",
        help="fill the store with realistic orders in every stage",
        description=(
            "Drive the ledger through years of realistic, deterministic data: "
            "orders from many customers in every stage, with splits, merges, partial "
            "shipments, transit exceptions, quality issues, complaints and credit notes; "
            "each product family with its own peaks and slack months in the year."
        ),
    )
    parser.add_argument("--orders", type=positive, default=300, help="orders (default 300)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the store already holds orders"
    )
    parser.add_argument(
        "--until",
        type=_until,
        default=None,
        metavar="YYYY-MM-DD",
        help="the stories end before this day (default today, UTC); fixes the data across days",
    )
    parser.add_argument(
        "--years",
        type=_years,
        default=3,
        help="years of orders before --until, with their seasons (default 3, at most 10)",
    )
    parser.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    """Run the demo on the store LEDGER_DATABASE_URL names."""
    if args.until is not None and args.until.year - args.years <= FIRST_DAY.year:
        raise Refused(
            f"--until {args.until} with --years {args.years} would tell stories before "
            f"{FIRST_DAY}: choose a later day or fewer years"
        )
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))  # set to each step's moment
    ledger = Ledger(get_settings(), clock)
    try:
        run_demo(
            ledger,
            clock,
            orders=args.orders,
            seed=args.seed,
            if_empty=args.if_empty,
            until=args.until,
            years=args.years,
        )
    finally:
        ledger.close()
    return 0


def _until(text: str) -> date:
    """A day whose year of stories (and the dates they promise ahead) stays
    within the business dates every command accepts."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    first, last = (
        FIRST_DAY.replace(year=FIRST_DAY.year + 1),
        LAST_DAY.replace(year=LAST_DAY.year - 1),
    )
    if not first <= day <= last:
        raise argparse.ArgumentTypeError(f"{text} is outside {first} to {last}")
    return day


def _years(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError("must be between 1 and 10")
    return value
