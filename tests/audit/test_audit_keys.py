"""The audit key: created whole even when several processes race for it, kept
private, and refused when too short, wherever it comes from."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ledger.audit.keys import AuditKeyTooShort, audit_key, key_file, key_id
from ledger.cli import main
from ledger.settings import MIN_AUDIT_KEY_BYTES, Settings

# Races of PROCESSES processes each: bounded under CI (a fork of the test
# process is a fifth of a second there), deeper locally.
ROUNDS = 10 if os.environ.get("CI") == "true" else 40
PROCESSES = 4


def _create_key(database: str, start: Any, keys: Any) -> None:
    start.wait()
    keys.put(audit_key(Settings(database_url=f"sqlite:///{database}")))


def _race(database: Path) -> list[bytes]:
    """The key of ``database`` as ``PROCESSES`` processes, released together, see it."""
    context = multiprocessing.get_context("fork")
    start, keys = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_create_key, args=(str(database), start, keys))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    found = [keys.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return found


def test_processes_creating_the_key_at_once_all_get_the_same_whole_key(tmp_path: Path) -> None:
    """The key is written to a temporary file and linked into place: no process
    ever reads an empty or partial key, and all agree on one."""
    for round_ in range(ROUNDS):
        database = tmp_path / f"r{round_}" / "ledger.db"
        database.parent.mkdir()
        keys = _race(database)
        assert len(set(keys)) == 1, keys
        assert len(keys[0]) == 64
        assert keys[0] == key_file(Settings(database_url=f"sqlite:///{database}")).read_bytes()
        assert sorted(p.name for p in database.parent.iterdir()) == ["ledger.db.audit-key"]


def test_the_key_file_is_private(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    audit_key(settings)
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600


def test_a_short_key_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_AUDIT_KEY", "x" * (MIN_AUDIT_KEY_BYTES - 1))
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        Settings()
    monkeypatch.setenv("LEDGER_AUDIT_KEY", "x" * MIN_AUDIT_KEY_BYTES)
    assert Settings().audit_key == "x" * MIN_AUDIT_KEY_BYTES


@pytest.mark.parametrize("content", [b"", b"short\n"])
def test_a_short_or_empty_key_file_is_refused_not_used(tmp_path: Path, content: bytes) -> None:
    """An empty file (left by an older version's race) would HMAC with an empty key."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    key_file(settings).write_bytes(content)
    with pytest.raises(AuditKeyTooShort, match=r"ledger\.db\.audit-key is \d bytes"):
        audit_key(settings)
    assert key_file(settings).read_bytes() == content  # not replaced behind the operator's back


def test_the_cli_refuses_a_short_key_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "e.jsonl"
    export.write_text('{"manifest": {}}\n')
    assert main(["audit", "verify", "--file", str(export), "--key", "short"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "ledger: the audit key from --key is 5 bytes; it must be at least 16 "
        "(64 random hex digits are the norm)\n"
    )
    monkeypatch.setenv("LEDGER_AUDIT_KEY", "short")
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    from ledger.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["audit", "verify"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err == "ledger: LEDGER_AUDIT_KEY: the audit key must be at least 16 bytes, it is 5\n"
    assert not (tmp_path / "ledger.db").exists()


def test_a_key_id_names_a_key_without_revealing_it() -> None:
    first, second = key_id(b"a" * 32), key_id(b"b" * 32)
    assert len(first) == 16 and first != second and first == key_id(b"a" * 32)
