"""Seals, exports and backups record which key made them, so an auditor can
tell a wrong key from tampering; an embedded store restored with a key keeps it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import stat
import tarfile
from pathlib import Path
from uuid import UUID

import pytest
from audit_helpers import AUDIT_KEY, Opened, Tamper, five_event_order, make_ledger

from cli_helpers import Cli
from ledger.audit.backup import backup
from ledger.audit.backup_format import MANIFEST, SIDE, BackupRefused, canonical
from ledger.audit.keys import key_file, key_id, mac
from ledger.audit.service import seal, verify_store
from ledger.persistence.chain import SEALS_TABLE
from ledger.settings import Settings
from ledger.worker.restore import restore

OTHER_KEY = "another-audit-key-fedcba9876543210"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def sealed_store(settings: Settings, orders: int = 3) -> None:
    ledger = make_ledger(settings)
    for _ in range(orders):
        five_event_order(ledger)
    seal(ledger)
    ledger.close()


def test_a_store_restored_with_a_key_keeps_it_and_verifies_without_it(
    tmp_path: Path, cli: Cli
) -> None:
    """Seal, back up, restore into a new SQLite file with LEDGER_AUDIT_KEY set;
    later, without the variable, the seals still verify."""
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    sealed_store(source)
    key = key_file(source).read_text()
    assert cli("backup", str(tmp_path / "a.backup"), database_url=source.database_url).status == 0

    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = cli("restore", str(tmp_path / "a.backup"), database_url=target, audit_key=key)
    assert restored.status == 0, restored.err
    kept = tmp_path / "restored.db.audit-key"
    assert kept.read_text() == key and stat.S_IMODE(kept.stat().st_mode) == 0o600

    verified = cli("audit", "verify", database_url=target)
    assert verified.status == 0, verified.out
    assert verified.out.startswith("clean: 15 events of 3 orders checked; 3 orders sealed")


def test_a_verify_with_another_key_says_so_once_and_exits_3(
    sql_settings: Settings, cli: Cli
) -> None:
    sealed_store(sql_settings)
    url = sql_settings.database_url
    ran = cli("audit", "verify", database_url=url, audit_key=OTHER_KEY)
    assert ran.status == 3
    assert ran.out.splitlines() == [
        f"KEY sealed with key {key_id(AUDIT_KEY.encode())}, this key is "
        f"{key_id(OTHER_KEY.encode())}: 3 seal(s) not checked (set LEDGER_AUDIT_KEY to the "
        "key that sealed them)",
        "wrong key: 15 events of 3 orders checked; 0 orders sealed, 15 events after the last seal",
    ]
    as_json = json.loads(
        cli("audit", "verify", "--json", database_url=url, audit_key=OTHER_KEY).out
    )
    assert as_json["verdict"] == "wrong_key" and as_json["findings"] == []
    assert as_json["seals_with_other_keys"] == {key_id(AUDIT_KEY.encode()): 3}
    assert cli("audit", "verify", database_url=url, audit_key=AUDIT_KEY).status == 0


def test_tampering_is_named_as_tampering_with_either_key(
    sql_settings: Settings, cli: Cli, opened: Opened
) -> None:
    """A forged seal under the key that made it stays ``seal_forged``; a changed
    event is a break whichever key checks."""
    sealed_store(sql_settings, orders=2)
    tamper, url = Tamper(sql_settings), sql_settings.database_url
    order = verify_store(opened(sql_settings)).heads.popitem()[0]
    oid = tamper.oid(UUID(order))
    tamper.run(f"UPDATE {SEALS_TABLE} SET mac = ? WHERE originator_id = ?", bytes(32), oid)
    ran = cli("audit", "verify", database_url=url, audit_key=AUDIT_KEY)
    assert ran.status == 1 and f"BREAK order {order} version 5: seal_forged" in ran.out

    tamper.run("UPDATE stored_events SET state = ? WHERE originator_version = 2", b"x")
    ran = cli("audit", "verify", database_url=url, audit_key=OTHER_KEY)
    assert ran.status == 1
    assert ran.out.count("changed") == 2 and ran.out.count("KEY sealed with key") == 1


def test_seals_made_before_key_ids_still_verify(sql_settings: Settings, opened: Opened) -> None:
    sealed_store(sql_settings)
    Tamper(sql_settings).run(f"UPDATE {SEALS_TABLE} SET key_id = NULL")
    ledger = opened(sql_settings)
    report = verify_store(ledger)
    assert report.ok and report.sealed_orders == 3
    # Without an id a wrong key cannot be told from forgery: each seal says so.
    other = opened(sql_settings.model_copy(update={"audit_key": OTHER_KEY}))
    assert {f.kind for f in verify_store(other).findings} == {"seal_forged"}


def test_a_store_sealed_with_another_key_gets_no_new_seals(
    sql_settings: Settings, cli: Cli, opened: Opened
) -> None:
    sealed_store(sql_settings)
    five_event_order(opened(sql_settings))  # a new order, unsealed
    ran = cli("audit", "seal", database_url=sql_settings.database_url, audit_key=OTHER_KEY)
    assert ran.status == 3 and "nothing sealed" in ran.out
    other = opened(sql_settings.model_copy(update={"audit_key": OTHER_KEY}))
    _, sealed = seal(other)
    assert sealed == 0 and verify_store(opened(sql_settings)).sealed_orders == 3


def test_a_seal_records_the_id_of_its_key(sql_settings: Settings) -> None:
    sealed_store(sql_settings, orders=1)
    rows = Tamper(sql_settings).run(f"SELECT key_id FROM {SEALS_TABLE}")
    assert [tuple(r) for r in rows] == [(key_id(AUDIT_KEY.encode()),)]


OLD_SEALS_SQLITE = (
    f"CREATE TABLE {SEALS_TABLE} (originator_id TEXT NOT NULL, version INTEGER NOT NULL, "
    "hash BLOB NOT NULL, sealed_at TEXT NOT NULL, mac BLOB NOT NULL, "
    "PRIMARY KEY (originator_id, version))"
)


def test_a_sqlite_store_made_before_key_ids_gets_the_column(tmp_path: Path, opened: Opened) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_SEALS_SQLITE)
    settings = Settings(database_url=f"sqlite:///{path}", audit_key=AUDIT_KEY)
    sealed_store(settings)
    sealed_store(settings.model_copy())  # opening it again changes nothing
    assert verify_store(opened(settings)).sealed_orders == 6


@pytest.mark.postgres
def test_a_postgres_store_made_before_key_ids_gets_the_column(
    postgres_url: str, opened: Opened
) -> None:
    settings = Settings(database_url=postgres_url, audit_key=AUDIT_KEY, pool_size=2)
    sealed_store(settings, orders=1)
    tamper = Tamper(settings)
    tamper.run(f"ALTER TABLE {SEALS_TABLE} DROP COLUMN key_id")
    sealed_store(settings, orders=1)  # opening the store adds it back
    assert verify_store(opened(settings)).sealed_orders == 2
    assert len(tamper.run(f"SELECT key_id FROM {SEALS_TABLE} WHERE key_id IS NULL")) == 1


def test_a_restore_with_another_key_names_both_keys(
    tmp_path: Path, sql_settings: Settings, opened: Opened
) -> None:
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=OTHER_KEY)
    sealed_store(source)
    backup(opened(source), tmp_path / "x.backup")
    with pytest.raises(BackupRefused) as refused:
        restore(opened(sql_settings), tmp_path / "x.backup")
    assert str(refused.value).startswith(
        f"the backup was sealed with key {key_id(OTHER_KEY.encode())}, this store's audit "
        f"key is {key_id(AUDIT_KEY.encode())}"
    )


def as_older_backup(path: Path) -> Path:
    """The backup as ``ledger-backup/2`` wrote it: no key id, no sizes, seals of
    five columns; MAC'd again with the key."""
    with tarfile.open(path) as tar:
        data = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(data[MANIFEST])
    for name in ("key_id", "sizes", "mac"):
        manifest.pop(name)
    manifest["format"] = "ledger-backup/2"
    manifest["seals"] = [row[:5] for row in manifest["seals"]]
    side = json.loads(gzip.decompress(data[SIDE]))
    side[SEALS_TABLE] = [row[:5] for row in side[SEALS_TABLE]]
    data[SIDE] = gzip.compress(canonical(side))
    manifest["sha256"][SIDE] = hashlib.sha256(data[SIDE]).hexdigest()
    manifest["mac"] = mac(AUDIT_KEY.encode(), canonical(manifest)).hex()
    data[MANIFEST] = json.dumps(manifest).encode()
    out = path.with_name("older-" + path.name)
    with tarfile.open(out, "w") as tar:
        for name, blob in data.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return out


def test_a_backup_made_before_key_ids_still_restores(
    tmp_path: Path, sql_settings: Settings, opened: Opened
) -> None:
    source = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    sealed_store(source)
    backup(opened(source), tmp_path / "x.backup")
    target = opened(sql_settings)
    assert restore(target, as_older_backup(tmp_path / "x.backup"))["events"] == 15
    report = verify_store(target)
    assert report.ok and report.sealed_orders == 3


def test_a_backup_taken_with_another_key_than_the_seals_still_restores(
    tmp_path: Path, sql_settings: Settings, cli: Cli, opened: Opened
) -> None:
    """A store sealed with one key and backed up by a host with another: the
    restore checks what that key can, carries the seals over as they are, and
    verify with the sealing key finds them intact."""
    sealed_store(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=OTHER_KEY))
    host = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    backup(opened(host), tmp_path / "x.backup")
    assert restore(opened(sql_settings), tmp_path / "x.backup")["events"] == 15
    url = sql_settings.database_url
    assert cli("audit", "verify", database_url=url, audit_key=AUDIT_KEY).status == 3
    assert cli("audit", "verify", database_url=url, audit_key=OTHER_KEY).status == 0
