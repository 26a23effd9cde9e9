"""Load a backup into an empty store (``ledger restore`` then rebuilds the read
models: ``ledger.worker.restore``).

Everything the manifest states is checked before anything is committed,
and the manifest before anything else: ``open_backup`` accepts only the
three members a backup holds, reads the manifest (bounded), checks its MAC
under this store's audit key, then each member's sha256, reading them in
chunks. ``load`` streams the events into the store, decompressing at
most a chunk at a time and no more bytes than the manifest states, while
the chain is recomputed: every event against its seal as it passes, the
counts and the manifest's heads at the end. The load is one transaction,
rolled back on any failure; a refused restore into a new SQLite file
removes the file (``leaving_nothing``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ledger.audit.backup_format import (
    EVENTS,
    MANIFEST,
    READABLE_FORMATS,
    SIDE,
    BackupRefused,
    TupleChain,
    canonical,
)
from ledger.audit.keys import existing_key, keep_key, key_id, mac_ok
from ledger.audit.service import key_of
from ledger.audit.store import open_loader
from ledger.audit.verify import Progress
from ledger.settings import Settings

CHUNK = 1 << 20  # bytes read, and decompressed, at a time
MANIFEST_LIMIT = 1 << 30  # a manifest lists every order: about 300 bytes each
EVENT_LIMIT = 16 << 20  # one stored event; the API takes 1 MiB bodies
MEMBERS = (MANIFEST, EVENTS, SIDE)


@dataclass
class CheckedBackup:
    """An open backup whose manifest, MAC and members' digests were checked."""

    path: Path
    tar: tarfile.TarFile
    members: dict[str, tarfile.TarInfo]
    manifest: dict[str, Any]
    key: bytes

    @property
    def events(self) -> int:
        return int(self.manifest["counts"]["events"])

    def member(self, name: str) -> IO[bytes]:
        stream = self.tar.extractfile(self.members[name])
        assert stream is not None  # a regular file, checked by open_backup
        return stream

    def limit(self, name: str) -> int | None:
        """The member's uncompressed size as the manifest states it (older backups: none)."""
        sizes = self.manifest.get("sizes")
        return int(sizes[name]) if isinstance(sizes, dict) else None


@contextlib.contextmanager
def open_backup(path: Path, key: bytes | None) -> Iterator[CheckedBackup]:
    """The backup at ``path``, checked under ``key`` without touching any store;
    ``BackupRefused`` says what is wrong."""
    with contextlib.ExitStack() as stack:
        try:  # a plain tar only: a compressed one could be a bomb
            tar = stack.enter_context(tarfile.open(path, "r:"))
        except OSError as e:
            raise BackupRefused(f"cannot read {path}: {e.strerror}") from None
        except tarfile.TarError:
            raise BackupRefused(f"{path} is not a ledger backup{_why_not_tar(path)}") from None
        members = _members(tar, path)
        manifest = _read_manifest(tar, members[MANIFEST], path)
        _check_manifest(manifest, key)
        assert key is not None
        checked = CheckedBackup(path, tar, members, manifest, key)
        for name in (EVENTS, SIDE):
            _check_member(checked, name)
        yield checked


COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")  # gzip bzip2 xz zstd


def _why_not_tar(path: Path) -> str:
    with path.open("rb") as f:
        start = f.read(6)
    if start.startswith(COMPRESSED):
        return ": it is compressed, and a backup is the plain tar `ledger backup` writes"
    return " (the plain tar `ledger backup` writes)"


def _members(tar: tarfile.TarFile, path: Path) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    try:
        for info in tar:
            if info.name not in MEMBERS or info.name in found or not info.isfile():
                raise BackupRefused(
                    f"{path}: unexpected member {info.name!r}; a ledger backup holds "
                    f"only {', '.join(MEMBERS)}"
                )
            found[info.name] = info
    except tarfile.TarError as e:
        raise BackupRefused(f"{path} is not a readable ledger backup ({e})") from None
    missing = [name for name in MEMBERS if name not in found]
    if missing:
        raise BackupRefused(f"{path} is not a ledger backup: {', '.join(missing)} missing")
    return found


def _read_manifest(tar: tarfile.TarFile, info: tarfile.TarInfo, path: Path) -> dict[str, Any]:
    if info.size > MANIFEST_LIMIT:
        raise BackupRefused(f"{path}: a manifest of {info.size} bytes is not a ledger manifest")
    stream = tar.extractfile(info)
    assert stream is not None
    try:
        manifest = json.loads(stream.read())
    except ValueError as e:
        raise BackupRefused(f"{path}: {MANIFEST} is not readable ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupRefused(f"unknown backup format {found!r}")
    return manifest


def _check_manifest(manifest: dict[str, Any], key: bytes | None) -> None:
    """The key first (a wrong key is not tampering), then the MAC, then each seal."""
    sealed_with = manifest.get("key_id")
    if key is None:
        which = f" (key {sealed_with})" if isinstance(sealed_with, str) else ""
        raise BackupRefused(
            "this store has no audit key yet: set LEDGER_AUDIT_KEY to the key "
            f"the backup was made with{which}"
        )
    if isinstance(sealed_with, str) and sealed_with != key_id(key):
        raise BackupRefused(
            f"the backup was sealed with key {sealed_with}, this store's audit key is "
            f"{key_id(key)}: set LEDGER_AUDIT_KEY to the key of the store that was backed up"
        )
    body = {k: v for k, v in manifest.items() if k != "mac"}
    try:
        expected = bytes.fromhex(str(manifest.get("mac", "")))
    except ValueError:
        expected = b""
    if not mac_ok(key, expected, canonical(body)):
        raise BackupRefused(
            "the backup's manifest does not verify with this store's audit key: the file "
            "was changed"
            + ("" if sealed_with else ", or made with another key (set LEDGER_AUDIT_KEY)")
        )
    checkpoints(manifest, key)


def checkpoints(manifest: dict[str, Any], key: bytes) -> dict[tuple[str, int], bytes]:
    """The sealed hashes every event is checked against, each seal's MAC checked.

    A seal naming another key (a store sealed with one key and backed up with
    another) cannot be checked here: it travels as it is, is no checkpoint,
    and ``audit verify`` with its key checks it after the restore."""
    this_key = key_id(key)
    sealed: dict[tuple[str, int], bytes] = {}
    for row in manifest["seals"]:
        order, version, digest, at, seal_mac = row[:5]
        parts = (order, version, base64.b64decode(digest["b64"]), at)
        if mac_ok(key, base64.b64decode(seal_mac["b64"]), *parts):
            sealed[(order, version)] = parts[2]
        elif len(row) < 6 or row[5] in (None, this_key):
            raise BackupRefused(f"the seal of order {order} version {version} does not verify")
    return sealed


def _check_member(backup: CheckedBackup, name: str) -> None:
    """The member's sha256, read in chunks (it is decompressed only later)."""
    digest = hashlib.sha256()
    stream = backup.member(name)
    while block := stream.read(CHUNK):
        digest.update(block)
    if digest.hexdigest() != backup.manifest["sha256"].get(name):
        raise BackupRefused(f"{name} is corrupted: its sha256 differs from the manifest")


def restore_key(ledger: Any) -> bytes | None:
    """The key a restore checks with, creating none: a key generated now could
    not verify any backup, and a refused restore must leave nothing behind."""
    if ledger.settings.database.backend == "memory":
        return key_of(ledger)
    return existing_key(ledger.settings)


def load(
    ledger: Any, source: Path | CheckedBackup, progress: Progress | None = None
) -> dict[str, int]:
    """Load ``source`` into the ledger's empty store; ``BackupRefused`` says why not.

    An embedded store then keeps the key the backup verified with, so the
    seals still verify once ``LEDGER_AUDIT_KEY`` is gone."""
    if isinstance(source, Path):
        with open_backup(source, restore_key(ledger)) as checked:
            return load(ledger, checked, progress)
    loader = open_loader(ledger)
    if not loader.is_empty():
        raise BackupRefused("the store is not empty: restore needs an empty store")
    manifest = source.manifest
    try:
        side = json.loads(b"".join(_inflate(source, SIDE)))
    except ValueError as e:
        raise BackupRefused(f"{SIDE} is not readable ({e})") from None
    chain = TupleChain(checkpoints(manifest, source.key), links=True)
    chunks = _checked_chunks(manifest, _inflate(source, EVENTS), chain, progress)
    loaded = loader.load(chunks, chain, side)
    keep_key(ledger.settings, source.key)
    return {"events": loaded, "orders": int(manifest["counts"]["orders"]), "checked": chain.count}


def _inflate(backup: CheckedBackup, name: str) -> Iterator[bytes]:
    """The member decompressed a chunk at a time, never past the size the manifest
    states; its sha256 is checked again as it is read (the file may have changed)."""
    stream, limit = backup.member(name), backup.limit(name)
    unpacker, digest, produced, pending = zlib.decompressobj(31), hashlib.sha256(), 0, b""
    try:
        while not unpacker.eof:
            if not pending:
                pending = stream.read(CHUNK)
                digest.update(pending)
            data = unpacker.decompress(pending, CHUNK)
            if not pending and not data and not unpacker.eof:
                raise BackupRefused(f"{name} is truncated")
            pending = unpacker.unconsumed_tail
            produced += len(data)
            if limit is not None and produced > limit:
                raise BackupRefused(f"{name} holds more than the {limit} bytes its manifest states")
            yield data
    except zlib.error as e:
        raise BackupRefused(f"{name}: {e}") from None
    if unpacker.unused_data or stream.read(1):
        raise BackupRefused(f"{name} has bytes after its end")
    if digest.hexdigest() != backup.manifest["sha256"].get(name):
        raise BackupRefused(f"{name} changed while it was read: its sha256 differs")
    if limit is not None and produced != limit:
        raise BackupRefused(f"{name} holds {produced} bytes, its manifest states {limit}")


def _checked_chunks(
    manifest: dict[str, Any], chunks: Iterator[bytes], chain: TupleChain, progress: Progress | None
) -> Iterator[bytes]:
    """The event tuples in whole-tuple chunks, each checked by ``chain`` (seals)
    before it is handed on; after the last, the counts and the manifest's heads.
    A failure raises ``BackupRefused`` inside the loader's transaction, so
    nothing is committed."""
    rest = b""
    try:
        for chunk in chunks:
            data = rest + chunk
            before = chain.count
            used = chain.feed(data)
            rest = data[used:]
            if len(rest) > EVENT_LIMIT:
                raise BackupRefused(f"{EVENTS}: an event of more than {EVENT_LIMIT} bytes")
            yield data[:used]
            if progress is not None:
                progress(chain.count - before)
    except (ValueError, binascii.Error) as e:
        raise BackupRefused(f"{EVENTS}: {e}") from None
    if rest:
        raise BackupRefused(f"{EVENTS} ends in the middle of an event")
    _check_totals(manifest, chain)


def _check_totals(manifest: dict[str, Any], chain: TupleChain) -> None:
    if chain.count != manifest["counts"]["events"]:
        raise BackupRefused(
            f"{chain.count} events in the file, the manifest says {manifest['counts']['events']}"
        )
    heads = chain.order_heads()
    for order, (version, digest) in manifest["heads"].items():
        if heads.get(order) != (version, bytes.fromhex(digest)):
            raise BackupRefused(f"order {order}: the chain does not end where the manifest says")
    if len(heads) != len(manifest["heads"]):
        raise BackupRefused("the file holds orders the manifest does not list")


SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".audit-key", ".locks")


@contextlib.contextmanager
def leaving_nothing(settings: Settings) -> Iterator[None]:
    """A refused (or interrupted) restore into an embedded store removes the
    database file, its journals, key and lock folder if it created them."""
    if settings.database.backend != "sqlite":
        yield
        return
    paths = [Path(settings.database.path + suffix) for suffix in SQLITE_COMPANIONS]
    existed = {path for path in paths if path.exists()}
    try:
        yield
    except BaseException:
        for path in paths:
            if path not in existed and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path not in existed:
                path.unlink(missing_ok=True)
        raise
