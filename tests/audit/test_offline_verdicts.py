"""``ledger audit verify --file``: one verdict, stated once, that tells a wrong
key from a changed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_helpers import AUDIT_KEY, five_event_order, make_ledger

from cli_helpers import Cli
from ledger.audit.export import export_lines, manifest_mac
from ledger.audit.keys import key_id
from ledger.audit.service import seal
from ledger.settings import Settings

WRONG_KEY = "not-the-audit-key-0123456789"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A sealed order's export, made with ``AUDIT_KEY``."""
    ledger = make_ledger(
        Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", audit_key=AUDIT_KEY)
    )
    order = five_event_order(ledger)
    seal(ledger)
    path = tmp_path / "order.jsonl"
    path.write_bytes(b"".join(export_lines(ledger, [order])))
    ledger.close()
    return path


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def edit_manifest(path: Path, change: dict[str, object], key: str | None = None) -> None:
    lines = path.read_bytes().splitlines()
    manifest = json.loads(lines[-1])["manifest"]
    manifest.update(change)
    manifest = {k: v for k, v in manifest.items() if v is not None}
    if key is not None:
        manifest["mac"] = manifest_mac(key.encode(), manifest)
    lines[-1] = json.dumps({"manifest": manifest}).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_a_wrong_key_is_one_statement_and_exit_status_3(export: Path, cli: Cli) -> None:
    ran = cli("audit", "verify", "--file", str(export), "--key", WRONG_KEY)
    assert ran.status == 3
    assert ran.out.splitlines() == [
        f"KEY {export}: sealed with key {key_id(AUDIT_KEY.encode())}, this key is "
        f"{key_id(WRONG_KEY.encode())}: its MAC and seals cannot be checked with this key",
        "wrong key: 6 lines, 1 orders; manifest MAC not checked (another key)",
    ]
    right = cli("audit", "verify", "--file", str(export), "--key", AUDIT_KEY)
    assert (right.status, right.out) == (0, "clean: 6 lines, 1 orders; manifest MAC verified\n")


def test_an_export_without_a_key_id_and_a_wrong_key_gets_one_break(export: Path, cli: Cli) -> None:
    """Exports made before key ids: the MAC fails once, and nothing says it verified."""
    edit_manifest(export, {"key_id": None}, key=AUDIT_KEY)
    ran = cli("audit", "verify", "--file", str(export), "--key", WRONG_KEY)
    assert ran.status == 1
    assert ran.out.splitlines() == [
        f"BREAK {export}: line 6: the manifest's MAC does not verify with this key",
        "1 problem(s): 6 lines, 1 orders; manifest MAC does not verify",
    ]
    assert cli("audit", "verify", "--file", str(export), "--key", AUDIT_KEY).status == 0


def test_a_changed_manifest_is_one_break_with_the_right_key(export: Path, cli: Cli) -> None:
    edit_manifest(export, {"created_at": "2020-01-01T00:00:00+00:00"})
    ran = cli("audit", "verify", "--file", str(export), "--key", AUDIT_KEY)
    assert ran.status == 1
    assert ran.out.count("BREAK") == 1 and "MAC verified" not in ran.out
    assert ran.out.endswith("manifest MAC does not verify\n")


def test_a_malformed_manifest_is_a_problem_not_a_traceback(export: Path, cli: Cli) -> None:
    edit_manifest(export, {"heads": ["not", "a", "mapping"]})
    ran = cli("audit", "verify", "--file", str(export), "--key", AUDIT_KEY)
    assert (ran.status, ran.err) == (1, "")
    assert ran.out.startswith(f"BREAK {export}: line 6: the manifest is malformed")


def test_without_a_key_the_verdict_says_the_mac_was_not_checked(export: Path, cli: Cli) -> None:
    ran = cli("audit", "verify", "--file", str(export))
    assert (ran.status, ran.out) == (
        0,
        "clean: 6 lines, 1 orders; no key: manifest MAC not checked\n",
    )


def test_seals_made_with_another_key_than_the_exports_are_not_called_forged(
    tmp_path: Path, cli: Cli
) -> None:
    """A store sealed with one key, exported by a host with another: the seals
    are named as another key's, once, not as forgeries."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    sealer = make_ledger(Settings(database_url=url, audit_key=WRONG_KEY))
    order = five_event_order(sealer)
    seal(sealer)
    sealer.close()
    exporter = make_ledger(Settings(database_url=url, audit_key=AUDIT_KEY))
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join(export_lines(exporter, [order])))
    exporter.close()
    ran = cli("audit", "verify", "--file", str(path), "--key", AUDIT_KEY)
    assert ran.status == 3
    assert ran.out.splitlines() == [
        f"KEY {path}: sealed with key {key_id(WRONG_KEY.encode())}, this key is "
        f"{key_id(AUDIT_KEY.encode())}: its seals cannot be checked with this key",
        "wrong key: 6 lines, 1 orders; manifest MAC verified",
    ]
