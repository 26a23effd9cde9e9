"""Backups restore across backends with every order equal at every version and
every read model equal;
restore refuses a non-empty store, a corrupted file and seals it cannot verify."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from audit_helpers import AUDIT_KEY, five_event_order, make_ledger

from ledger.aggregates.readout import describe
from ledger.application import Ctx, Ledger
from ledger.audit.backup import backup, run_scheduled_backup
from ledger.audit.backup_format import EVENTS, MANIFEST, SIDE, BackupRefused, canonical
from ledger.audit.export import select_orders
from ledger.audit.keys import mac
from ledger.audit.service import seal, verify_store
from ledger.clock import SimulatedClock
from ledger.demo.runner import run_demo
from ledger.integration.feed import MAX_LIMIT, Feed
from ledger.integration.feed_model import FEED
from ledger.projections.registry import READ_MODELS
from ledger.projections.runner import open_view
from ledger.settings import Settings
from ledger.worker.restore import rebuild_projections, restore
from strategies import OTHER_CUSTOMER


def every_version(ledger: Ledger, orders: list[UUID]) -> dict[tuple[UUID, int], Any]:
    states = {}
    for order in orders:
        last = ledger.get_order(order).version
        for version in range(1, last + 1):
            states[(order, version)] = describe(ledger.get_order(order, version=version))
    return states


def filled(settings: Settings) -> tuple[Ledger, list[UUID]]:
    ledger = make_ledger(settings)
    orders = [five_event_order(ledger), five_event_order(ledger, OTHER_CUSTOMER)]
    ledger.cancel(Ctx(idempotency_key="cancel-1"), orders[0], reason="customer asked")
    return ledger, orders


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_keeps_every_order_at_every_version(
    tmp_path: Path, postgres_url: str
) -> None:
    sqlite = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    source, orders = filled(sqlite)
    original = every_version(source, orders)
    seal(source)
    backup(source, tmp_path / "one.backup")

    pg = make_ledger(Settings(database_url=postgres_url, audit_key=AUDIT_KEY, pool_size=2))
    counts = restore(pg, tmp_path / "one.backup")
    assert counts["events"] == 11
    assert every_version(pg, orders) == original
    assert verify_store(pg).ok and verify_store(pg).sealed_orders == 2
    # The counters and keys travelled: the next number follows on, a key repeats.
    assert pg.allocate_number(2026) == source.allocate_number(2026)
    repeat = pg.cancel(Ctx(idempotency_key="cancel-1"), orders[0], reason="customer asked")
    assert repeat.replayed

    backup(pg, tmp_path / "two.backup")
    back = make_ledger(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", audit_key=AUDIT_KEY))
    restore(back, tmp_path / "two.backup")
    assert every_version(back, orders) == original
    assert verify_store(back).ok
    for app in (source, pg, back):
        app.close()


def test_restore_refuses_a_store_that_is_not_empty(tmp_path: Path, sql_settings: Settings) -> None:
    source, _ = filled(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY))
    backup(source, tmp_path / "x.backup")
    target = make_ledger(sql_settings)
    five_event_order(target)
    with pytest.raises(BackupRefused, match="not empty"):
        restore(target, tmp_path / "x.backup")


def corrupt(path: Path, member: str) -> Path:
    """A copy of the backup with one byte of ``member`` flipped."""
    out = path.with_name("bad-" + path.name)
    with tarfile.open(path) as src, tarfile.open(out, "w") as dst:
        for info in src.getmembers():
            data = bytearray(src.extractfile(info).read())  # type: ignore[union-attr]
            if info.name == member:
                data[len(data) // 2] ^= 0x01
            dst.addfile(info, io.BytesIO(bytes(data)))
    return out


@pytest.mark.parametrize("member", [EVENTS, SIDE, MANIFEST])
def test_restore_refuses_a_corrupted_file_and_writes_nothing(
    tmp_path: Path, sql_settings: Settings, member: str
) -> None:
    source, _ = filled(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY))
    backup(source, tmp_path / "x.backup")
    target = make_ledger(sql_settings)
    with pytest.raises(BackupRefused):
        restore(target, corrupt(tmp_path / "x.backup", member))
    assert target.recorder.max_notification_id() in (None, 0)


def test_restore_refuses_seals_made_with_another_key(tmp_path: Path) -> None:
    source, _ = filled(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    backup(source, tmp_path / "x.backup")  # sealed with the generated key file
    target = make_ledger(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    with pytest.raises(BackupRefused, match="audit key"):
        restore(target, tmp_path / "x.backup")
    assert target.recorder.max_notification_id() in (None, 0)


def test_the_scheduled_backup_keeps_the_newest_files(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}", backup_dir=str(tmp_path / "b"), backup_keep=2
    )
    filled(settings)[0].close()
    for stamp in ("20200101T000000Z", "20200102T000000Z"):
        (tmp_path / "b").mkdir(exist_ok=True)
        (tmp_path / "b" / f"ledger-{stamp}.backup").write_bytes(b"old")
    newest = run_scheduled_backup(settings)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "ledger-20200102T000000Z.backup",
        newest.name,
    ]


def rewritten(path: Path, edit: Any) -> Path:
    """A copy of the backup whose events member ``edit`` changed, with the sha256,
    size and MAC recomputed under the audit key: only the chain can tell."""
    out = path.with_name("edited-" + path.name)
    with tarfile.open(path) as src:
        data = {m.name: src.extractfile(m).read() for m in src.getmembers()}  # type: ignore[union-attr]
    raw = edit(gzip.decompress(data[EVENTS]))
    events = gzip.compress(raw)
    manifest = json.loads(data[MANIFEST])
    manifest["sha256"][EVENTS] = hashlib.sha256(events).hexdigest()
    manifest["sizes"][EVENTS] = len(raw)
    body = {k: v for k, v in manifest.items() if k != "mac"}
    manifest["mac"] = mac(AUDIT_KEY.encode(), canonical(body)).hex()
    with tarfile.open(out, "w") as dst:
        for name, blob in ((MANIFEST, json.dumps(manifest).encode()), (EVENTS, events)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            dst.addfile(info, io.BytesIO(blob))
        info = tarfile.TarInfo(SIDE)
        info.size = len(data[SIDE])
        dst.addfile(info, io.BytesIO(data[SIDE]))
    return out


@pytest.mark.parametrize(
    ("edit", "refusal"),
    [
        (lambda b: b.replace(b"bank_transfer", b"bank_transfeR"), "differs from its seal"),
        (lambda b: b[:-7], "ends in the middle of an event"),
    ],
)
def test_restore_rolls_back_when_the_chain_breaks_half_way(
    tmp_path: Path, sql_settings: Settings, edit: Any, refusal: str
) -> None:
    """The chain is checked as the events stream into the store: a break found
    there (seal, tail) rolls the whole load back."""
    source, _ = filled(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY))
    seal(source)
    backup(source, tmp_path / "x.backup")
    target = make_ledger(sql_settings)
    with pytest.raises(BackupRefused, match=refusal):
        restore(target, rewritten(tmp_path / "x.backup", edit))
    assert target.recorder.max_notification_id() in (None, 0)
    assert verify_store(target).events == 0
    source.close()
    target.close()


def read_models(ledger: Ledger) -> dict[str, list[str]]:
    """Every registered read model's rows, as stored (``dump``), by key."""
    return {
        name: [model.dump(row) for row in open_view(ledger, model).select(order_by=["key"])]
        for name, model in READ_MODELS.items()
    }


def feed_pages(ledger: Ledger) -> list[bytes]:
    """The change feed as its read model (rebuilt by the restore too) gives it."""
    view = open_view(ledger, FEED)
    feed, pages, position = Feed(ledger, store=view), [], 0  # type: ignore[arg-type]
    while position < feed.head():
        page = feed.read(position, MAX_LIMIT)
        assert not page.decoded, "read from the log, not the model"
        pages.append(page.json())
        position = page.next
    return pages


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_keeps_every_read_model(
    tmp_path: Path, postgres_url: str
) -> None:
    """A demo's worth of orders in every stage: each read model, rebuilt by the
    restore, holds exactly the rows the original store's rebuild holds, and
    every order is equal at every version."""
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
    sqlite = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    source = Ledger(sqlite, clock)
    run_demo(
        source, clock, orders=40, seed=7, until=date(2026, 6, 30), out=io.StringIO(), progress=None
    )
    rebuild_projections(source)
    original = read_models(source)
    assert all(original.values()), {name: len(rows) for name, rows in original.items()}
    feed = feed_pages(source)
    orders = select_orders(source)
    states = every_version(source, orders)
    assert len(states) > len(orders) >= 40
    backup(source, tmp_path / "one.backup")

    pg = make_ledger(Settings(database_url=postgres_url, audit_key=AUDIT_KEY, pool_size=2))
    restore(pg, tmp_path / "one.backup")
    assert read_models(pg) == original
    assert feed_pages(pg) == feed
    assert every_version(pg, orders) == states
    backup(pg, tmp_path / "two.backup")
    back = make_ledger(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", audit_key=AUDIT_KEY))
    restore(back, tmp_path / "two.backup")
    assert read_models(back) == original
    assert feed_pages(back) == feed
    assert every_version(back, orders) == states
    for app in (source, pg, back):
        app.close()
