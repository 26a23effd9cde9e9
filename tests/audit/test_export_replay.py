"""Exports verify offline and name a flipped byte's line; replay of any prefix
equals the order at that version; the API and the CLI answer the same."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from audit_helpers import AUDIT_KEY, five_event_order, make_ledger
from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.readout import describe
from ledger.application import Ctx, Ledger
from ledger.audit.export import export_lines, select_orders
from ledger.audit.offline import verify_file
from ledger.audit.plain import jsonable
from ledger.audit.replay import replay
from ledger.cli import main
from ledger.settings import Settings


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", audit_key=AUDIT_KEY)
    return make_ledger(settings)


def exported(ledger: Ledger, orders: list[UUID], path: Path) -> Path:
    path.write_bytes(b"".join(export_lines(ledger, orders)))
    return path


def test_an_export_verifies_offline_and_a_flipped_byte_names_its_line(
    ledger: Ledger, tmp_path: Path
) -> None:
    orders = [five_event_order(ledger), five_event_order(ledger)]
    path = exported(ledger, orders, tmp_path / "x.jsonl")
    report = verify_file(path, AUDIT_KEY.encode())
    assert report.ok and report.mac_checked and (report.lines, report.orders) == (11, 2)

    data = bytearray(path.read_bytes())
    lines = data.split(b"\n")
    offset = sum(len(line) + 1 for line in lines[:6]) + 40  # inside line 7
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_file(path, AUDIT_KEY.encode())
    assert not report.ok
    assert report.problems[0].startswith("line 7:")


def test_a_changed_manifest_fails_its_mac(ledger: Ledger, tmp_path: Path) -> None:
    path = exported(ledger, [five_event_order(ledger)], tmp_path / "x.jsonl")
    path.write_bytes(path.read_bytes().replace(b'"lines":5', b'"lines":4'))
    problems = verify_file(path, AUDIT_KEY.encode()).problems
    assert problems == ["line 6: the manifest's MAC does not verify with this key"]
    other = verify_file(path, b"another key of 16+ bytes")
    assert (other.mac, other.problems, other.ok) == ("wrong_key", [], False)


def test_orders_are_selected_by_period_and_customer(ledger: Ledger) -> None:
    order = five_event_order(ledger)
    assert select_orders(ledger, period="2026-01") == [order]
    assert select_orders(ledger, period="2026-02") == []
    assert select_orders(ledger, customer="王小明") == [order]


@given(data=st.data())
def test_replay_of_any_prefix_equals_the_order_at_that_version(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    settings = Settings(database_url="memory://")
    ledger = make_ledger(settings)
    order = five_event_order(ledger)
    for reason in data.draw(st.lists(st.sampled_from(["a", "b"]), max_size=4)):
        ledger.hold(Ctx(), order, reason=reason)
        ledger.release(Ctx(), order, reason=reason)
    version = data.draw(st.integers(1, ledger.get_order(order).version))
    result = replay(ledger, order, version=version)
    assert result.state == jsonable(describe(ledger.get_order(order, version=version)))
    assert [s.version for s in result.steps] == list(range(1, version + 1))


def test_replay_shows_what_each_event_changed(ledger: Ledger) -> None:
    order = five_event_order(ledger)
    steps = replay(ledger, order).steps
    assert steps[0].changes["stage"] == (None, "received")
    assert steps[3].changes["on_hold"] == (False, True)
    assert "ordered" not in steps[3].changes
    until = replay(ledger, order, until=ledger.get_order(order, version=2).modified_on)
    assert [s.version for s in until.steps] == [1, 2]


def test_the_cli_verifies_exports_and_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    from ledger.settings import get_settings

    get_settings.cache_clear()
    ledger = make_ledger(Settings(database_url=url))
    order = five_event_order(ledger)
    ledger.close()
    try:
        assert main(["audit", "seal"]) == 0
        assert main(["audit", "verify"]) == 0
        assert "clean: 5 events of 1 orders checked" in capsys.readouterr().out
        assert main(["audit", "export", str(order), "-o", str(tmp_path / "e.jsonl")]) == 0
        key = (tmp_path / "ledger.db.audit-key").read_text()
        assert main(["audit", "verify", "--file", str(tmp_path / "e.jsonl"), "--key", key]) == 0
        assert "manifest MAC verified" in capsys.readouterr().out
        assert main(["replay", str(order), "--version", "2"]) == 0
        assert "v2 " in capsys.readouterr().out
        assert main(["backup", str(tmp_path / "b.backup")]) == 0
        assert main(["restore", str(tmp_path / "b.backup")]) == 2
        assert "not empty" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
