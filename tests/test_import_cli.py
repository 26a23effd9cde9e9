"""``ledger import FILE [--commit]``: a dry run lists the problems, a commit
records a valid file once; exit status 0 valid, 1 problems, 2 unreadable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ledger.application import Ledger
from ledger.settings import Settings
from order_files import csv_bytes, order_rows, xlsx_bytes


def run(tmp_path: Path, *args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "LANG": lang,
    }
    command = [sys.executable, "-m", "ledger.cli", "import", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def stored_events(tmp_path: Path) -> int:
    if not (tmp_path / "cli.db").exists():
        return 0
    ledger = Ledger(Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}"))
    try:
        return ledger.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def test_a_dry_run_checks_and_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx_bytes(order_rows(3)))
    done = run(tmp_path, str(path))
    assert done.returncode == 0, done.stderr
    assert "Ready to record — orders: 3, lines: 6" in done.stdout
    assert stored_events(tmp_path) == 0


def test_a_commit_records_the_orders_once_and_shows_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(order_rows(4), "gb18030"))
    done = run(tmp_path, str(path), "--commit")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" → SO-") == 4 and "new orders: 4" in done.stdout
    assert "4/4" in done.stderr  # the progress bar
    events = stored_events(tmp_path)
    again = run(tmp_path, str(path), "--commit", "--json", lang="zh_CN.UTF-8")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["summary"]["already_recorded"] == 4 and "此前已导入" in report["message"]
    assert stored_events(tmp_path) == events


def test_problems_are_listed_by_cell_and_exit_1_recording_nothing(tmp_path: Path) -> None:
    rows = order_rows(2)
    rows[1]["quantity"] = "１０.５"
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    done = run(tmp_path, str(path), "--commit", "--lang", "zh")
    assert done.returncode == 1
    assert "Q3: 不是整数。 [１０.５]" in done.stdout
    assert "未录入任何订单" in done.stdout
    assert stored_events(tmp_path) == 0


def test_a_file_that_cannot_be_opened_exits_2(tmp_path: Path) -> None:
    done = run(tmp_path, str(tmp_path / "missing.xlsx"))
    assert done.returncode == 2 and "cannot read" in done.stderr
