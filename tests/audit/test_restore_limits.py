"""``ledger restore`` reads a backup with bounded memory: only a plain tar of the
three members, the manifest and its MAC first, then members streamed no
further than the sizes the manifest states. Crafted archives (a compressed
tar, decompression bombs, extra members) are refused without taking memory."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import AUDIT_KEY, Opened, five_event_order, make_ledger

from ledger.audit.backup import backup
from ledger.audit.backup_format import EVENTS, MANIFEST, SIDE, BackupRefused, canonical
from ledger.audit.keys import mac
from ledger.audit.restore import EVENT_LIMIT
from ledger.audit.service import seal
from ledger.settings import Settings
from ledger.worker.restore import restore

BOMB = 128 << 20  # uncompressed bytes of each bomb: about 130 KB gzip'd
MEMORY = 48 << 20  # what a refused restore may allocate at its peak


class Filler(io.RawIOBase):
    """``size`` bytes of ``byte``, read without ever being held whole."""

    def __init__(self, size: int, byte: bytes = b"\0") -> None:
        self.left, self.byte = size, byte

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = self.byte * n
        self.left -= n
        return n


def gzip_of(head: bytes, size: int, byte: bytes = b"\0") -> bytes:
    """gzip of ``head`` and then ``size`` repeated bytes, compressed as they stream."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts, filler = [packer.compress(head)], Filler(size, byte)
    while block := filler.read(1 << 20):
        parts.append(packer.compress(block))
    return b"".join([*parts, packer.flush()])


@pytest.fixture
def good_backup(tmp_path: Path) -> Path:
    source = make_ledger(
        Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", audit_key=AUDIT_KEY)
    )
    five_event_order(source)
    seal(source)
    backup(source, tmp_path / "good.backup")
    source.close()
    return tmp_path / "good.backup"


def members_of(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def forged(good: Path, name: str, data: bytes, stated_size: int | None) -> Path:
    """``good`` with member ``name`` replaced and the manifest made to match it
    (sha256, size, MAC under the key): what only a key holder could craft."""
    members = members_of(good)
    manifest = json.loads(members[MANIFEST])
    members[name] = data
    manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
    if stated_size is None:  # as a ledger-backup/2 manifest, which states no sizes
        del manifest["sizes"]
        manifest["format"] = "ledger-backup/2"
    else:
        manifest.setdefault("sizes", {})[name] = stated_size
    del manifest["mac"]
    manifest["mac"] = mac(AUDIT_KEY.encode(), canonical(manifest)).hex()
    members[MANIFEST] = json.dumps(manifest).encode()
    out = good.with_name(f"forged-{name}.backup")
    with tarfile.open(out, "w") as tar:
        for member, blob in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return out


def peak_of(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def refused(ledger: Any, path: Path, match: str) -> Callable[[], None]:
    def run() -> None:
        with pytest.raises(BackupRefused, match=match):
            restore(ledger, path)

    return run


@pytest.mark.parametrize("name", [EVENTS, SIDE])
def test_a_bomb_beyond_the_stated_size_is_refused_with_bounded_memory(
    good_backup: Path, sql_settings: Settings, name: str, opened: Opened
) -> None:
    bomb = forged(good_backup, name, gzip_of(b"", BOMB), stated_size=4096)
    assert bomb.stat().st_size < 1 << 20
    target = opened(sql_settings)
    peak = peak_of(refused(target, bomb, "holds more than the 4096 bytes its manifest states"))
    assert peak < MEMORY, f"{peak:,} bytes"
    assert target.recorder.max_notification_id() in (None, 0)


def event_claiming(size: int) -> bytes:
    """The start of an event tuple whose state claims ``size`` bytes."""
    topic = b"ledger.aggregates.order:Order.Received"
    return (
        struct.pack(">hi", 4, 16)
        + bytes(16)
        + struct.pack(">iq", 8, 1)
        + struct.pack(">i", len(topic))
        + topic
        + struct.pack(">i", size)
    )


def test_an_older_backup_with_one_huge_event_is_refused_with_bounded_memory(
    good_backup: Path, tmp_path: Path, opened: Opened
) -> None:
    """``ledger-backup/2`` states no sizes: one event may still not exceed the limit."""
    bomb = forged(good_backup, EVENTS, gzip_of(event_claiming(2**31 - 1), BOMB), None)
    target = opened(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", audit_key=AUDIT_KEY))
    peak = peak_of(refused(target, bomb, f"an event of more than {EVENT_LIMIT} bytes"))
    assert peak < 2 * EVENT_LIMIT + MEMORY, f"{peak:,} bytes"


def tar_with(out: Path, members: Iterator[tuple[str, int, Any]], mode: str = "w") -> Path:
    with tarfile.open(out, mode) as tar:  # type: ignore[call-overload]
        for name, size, stream in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, stream)
    return out


def test_a_compressed_tar_is_refused_before_anything_is_read(
    good_backup: Path, tmp_path: Path, opened: Opened
) -> None:
    """A .tar.gz whose manifest is a bomb of blanks (valid JSON space)."""
    members = members_of(good_backup)
    bomb = tar_with(
        tmp_path / "bomb.backup",
        iter(
            [
                (MANIFEST, BOMB, io.BufferedReader(Filler(BOMB, b" "))),
                (EVENTS, len(members[EVENTS]), io.BytesIO(members[EVENTS])),
                (SIDE, len(members[SIDE]), io.BytesIO(members[SIDE])),
            ]
        ),
        mode="w:gz",
    )
    assert bomb.stat().st_size < 1 << 20
    target = opened(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", audit_key=AUDIT_KEY))
    peak = peak_of(refused(target, bomb, "it is compressed"))
    assert peak < MEMORY, f"{peak:,} bytes"


def test_a_member_a_backup_does_not_hold_is_refused(
    good_backup: Path, tmp_path: Path, sql_settings: Settings, opened: Opened
) -> None:
    members = members_of(good_backup)
    extra = tar_with(
        tmp_path / "extra.backup",
        iter(
            [
                *((name, len(blob), io.BytesIO(blob)) for name, blob in members.items()),
                ("notes.txt", 5, io.BytesIO(b"hello")),
            ]
        ),
    )
    target = opened(sql_settings)
    with pytest.raises(BackupRefused, match=r"unexpected member 'notes\.txt'"):
        restore(target, extra)
    assert target.recorder.max_notification_id() in (None, 0)


def test_a_missing_member_is_named(good_backup: Path, tmp_path: Path, opened: Opened) -> None:
    members = members_of(good_backup)
    short = tar_with(
        tmp_path / "short.backup",
        iter([(n, len(b), io.BytesIO(b)) for n, b in members.items() if n != SIDE]),
    )
    target = opened(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", audit_key=AUDIT_KEY))
    with pytest.raises(BackupRefused, match=f"{SIDE} missing"):
        restore(target, short)


def test_a_member_smaller_than_stated_is_refused(
    good_backup: Path, tmp_path: Path, opened: Opened
) -> None:
    side = json.loads(zlib.decompress(members_of(good_backup)[SIDE], 31))
    data = canonical(side)
    small = forged(good_backup, SIDE, gzip_of(data, 0), stated_size=len(data) + 1)
    target = opened(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", audit_key=AUDIT_KEY))
    with pytest.raises(BackupRefused, match=f"{SIDE} holds {len(data)} bytes"):
        restore(target, small)
