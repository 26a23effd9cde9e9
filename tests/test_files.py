"""Every file the service and the CLI write is created readable by its owner
only (0600), every folder they create 0700 — whatever the umask: the test
runs with a umask of 0, so a file created without an explicit mode would be
world-readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.api.app import create_app
from ledger.audit.backup import run_scheduled_backup
from ledger.files import private_dirs, private_output
from ledger.settings import Settings
from strategies import CUSTOMER

TOKENS = {"t-sales": {"role": "sales", "name": "sally"}, "t-audit": "auditor"}
RECEIPT = {
    "channel": "phone",
    "customer": {"name": CUSTOMER.name, "phone": "021-5555-0101"},
    "lines": [{"sku": "A-100", "name": "Cup", "quantity": 3, "unit_price": "100.00"}],
    "delivery": {"address": "1 Road", "consignee": "Wang"},
}


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(settings: Settings, *args: str) -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()


def test_every_file_the_service_and_the_cli_write_is_private(
    tmp_path: Path, open_umask: None
) -> None:
    root = tmp_path / "site"
    store = root / "data" / "ledger.db"
    settings = Settings(
        database_url=f"sqlite:///{store}",
        tokens=TOKENS,
        backup_dir=str(root / "backups" / "nightly"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=True) as http:
        auth = {"Authorization": "Bearer t-sales"}
        order = http.post("/orders", json=RECEIPT, headers=auth).json()
        assert http.get("/board", params={"after": order["position"]}, headers=auth).is_success
        audited = http.post("/audit/seal", headers={"Authorization": "Bearer t-audit"})
        assert audited.is_success
        run_scheduled_backup(settings)
        # SQLite's own files exist while a connection is open.
        live = [Path(f"{store}-wal"), Path(f"{store}-shm")]
        assert [oct(mode(path)) for path in live] == [oct(0o600)] * 2
    out = root / "out"
    os.mkdir(out, 0o700)
    old_export = out / "eve.jsonl"
    old_export.write_text("an export written by an older version\n")
    old_export.chmod(0o644)
    cli(settings, "backup", str(out / "manual.backup"))
    cli(settings, "audit", "export", "--customer", CUSTOMER.name, "-o", str(old_export))

    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    for expected in (
        "data/ledger.db", "data/ledger.db.audit-key",
        "data/ledger.db.locks", "out/manual.backup", "out/eve.jsonl", "backups/nightly",
    ):  # fmt: skip
        assert expected in written
    assert any(name.startswith("data/ledger.db.locks/") for name in written)
    assert any(name.startswith("backups/nightly/ledger-") for name in written)
    assert not [name for name in written if name.endswith(".part")]
    wrong = {
        name: oct(mode(root / name))
        for name in written
        if mode(root / name) != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert wrong == {}
    assert "an older version" not in old_export.read_text()


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_one(
    tmp_path: Path, open_umask: None
) -> None:
    target = tmp_path / "export.jsonl"
    with pytest.raises(RuntimeError), private_output(target) as out:
        out.write(b"half")
        raise RuntimeError("the store went away")
    assert list(tmp_path.iterdir()) == []


def test_folders_are_made_private_down_to_the_first_that_exists(
    tmp_path: Path, open_umask: None
) -> None:
    os.mkdir(tmp_path / "shared", 0o755)
    private_dirs(tmp_path / "shared" / "a" / "b")
    assert mode(tmp_path / "shared") == 0o755  # not ours: left as it is
    assert (mode(tmp_path / "shared" / "a"), mode(tmp_path / "shared" / "a" / "b")) == (
        0o700,
        0o700,
    )
