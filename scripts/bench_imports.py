"""Bulk intake speed (`scripts/bench imports`): a file of 10,000 rows and
2,000 orders checked (the dry run) and committed on a fresh PostgreSQL
database, then committed again (every order already recorded).

Targets: the check in at most 5 s, the commit in at most 10 s.
Writes bench/imports.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ledger.api.intake.checking import check_file  # noqa: E402
from ledger.api.intake.commit import commit_file  # noqa: E402
from ledger.application import Ctx, Ledger  # noqa: E402
from ledger.persistence.records import LedgerRecorder  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from order_files import csv_bytes, order_rows, xlsx_bytes  # noqa: E402
from pg_databases import fresh_database  # noqa: E402


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def run(orders: int, lines: int) -> dict[str, Any]:
    rows = order_rows(orders, lines=lines)
    workbook, text = xlsx_bytes(rows), csv_bytes(rows, "gb18030")
    check_s, intake = timed(lambda: check_file(workbook, "bench.xlsx"))
    assert intake.valid, intake.problems[:3]
    csv_s, _ = timed(lambda: check_file(text, "bench.csv"))
    databases = fresh_database("ledger_bench_imports")
    url = next(databases)
    ledger = Ledger(Settings(database_url=url))
    writers = cast(LedgerRecorder, ledger.recorder).concurrent_saves
    try:
        ctx = Ctx(actor="bench")
        commit_s, outcomes = timed(lambda: commit_file(ledger, ctx, intake))
        again_s, repeated = timed(lambda: commit_file(ledger, ctx, intake))
    finally:
        ledger.close()
        for _ in databases:  # drop the database
            pass
    assert sum(o.recorded for o in outcomes) == orders
    assert not any(o.recorded for o in repeated)
    return {
        "rows": orders * lines, "orders": orders, "xlsx_bytes": len(workbook),
        "check_xlsx_s": round(check_s, 2), "check_csv_gb18030_s": round(csv_s, 2),
        "commit_postgres_s": round(commit_s, 2), "commit_again_s": round(again_s, 2),
        "writers": writers, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=5, help="lines (rows) per order")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "imports.json")
    args = parser.parse_args()
    result = run(args.orders, args.lines)
    targets = {"check_xlsx_s": 5.0, "commit_postgres_s": 10.0}
    for key, value in result.items():
        target = f"   (target ≤ {targets[key]:g} s)" if key in targets else ""
        print(f"{key:<22}{value}{target}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
