"""The audit key that seals chain heads, exports and backups.

``LEDGER_AUDIT_KEY`` when set. Otherwise the embedded store keeps a
generated key in a file beside the database (mode 0600) and the in-memory
store one per process; a PostgreSQL store without the setting refuses
audit commands, since a key kept beside a shared server would protect nothing.

Every key has a public id (``key_id``) that seals, exports and backups
record, so a check made with another key can say so instead of calling
every seal forged. A key shorter than ``MIN_AUDIT_KEY_BYTES`` is refused
wherever it comes from.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from ledger.settings import MIN_AUDIT_KEY_BYTES, Settings

_PROCESS_KEYS: dict[int, bytes] = {}


class AuditKeyProblem(Exception):
    """The audit key is missing or unusable: the operator must fix a setting."""

    code = "audit_key_problem"


class AuditKeyMissing(AuditKeyProblem):
    """PostgreSQL needs ``LEDGER_AUDIT_KEY`` for every audit command."""

    code = "audit_key_missing"

    def __init__(self) -> None:
        super().__init__(
            "set LEDGER_AUDIT_KEY (the HMAC key that seals the hash chain) to use audit "
            "commands on PostgreSQL; when moving from SQLite, use the key in <db>.audit-key"
        )


class AuditKeyTooShort(AuditKeyProblem):
    code = "audit_key_too_short"

    def __init__(self, source: str, size: int) -> None:
        super().__init__(
            f"the audit key from {source} is {size} bytes; it must be at least "
            f"{MIN_AUDIT_KEY_BYTES} (64 random hex digits are the norm)"
        )


def key_id(key: bytes) -> str:
    """A key's public name (16 hex digits): which key sealed what, without revealing it."""
    return hashlib.sha256(b"ledger-audit-key-id\x00" + key).digest()[:8].hex()


def checked_key(key: bytes, source: str) -> bytes:
    """``key`` if it is long enough to be a key; ``AuditKeyTooShort`` names ``source``."""
    if len(key) < MIN_AUDIT_KEY_BYTES:
        raise AuditKeyTooShort(source, len(key))
    return key


def key_file(settings: Settings) -> Path:
    """Where the embedded store keeps its generated key."""
    return Path(settings.database.path + ".audit-key")


def audit_key(settings: Settings, recorder: Any = None) -> bytes:
    """The key for ``settings``; generated and kept for an embedded store."""
    if settings.audit_key:
        return checked_key(settings.audit_key.encode(), "LEDGER_AUDIT_KEY")
    backend = settings.database.backend
    if backend == "memory":
        return _PROCESS_KEYS.setdefault(id(recorder), secrets.token_bytes(32))
    if backend == "sqlite":
        return _file_key(key_file(settings))
    raise AuditKeyMissing


def existing_key(settings: Settings) -> bytes | None:
    """The key ``settings`` name or the embedded store already keeps, creating
    nothing; ``None`` when there is none yet (``AuditKeyMissing`` on PostgreSQL)."""
    if settings.audit_key:
        return checked_key(settings.audit_key.encode(), "LEDGER_AUDIT_KEY")
    backend = settings.database.backend
    if backend == "sqlite":
        with contextlib.suppress(FileNotFoundError):
            return read_key_file(key_file(settings))
        return None
    if backend == "postgres":
        raise AuditKeyMissing
    return None


def keep_key(settings: Settings, key: bytes) -> Path | None:
    """Make ``key`` the embedded store's kept key (a restore into it was checked
    with ``key``); the file it is kept in, or ``None`` for other stores."""
    if settings.database.backend != "sqlite":
        return None
    path = key_file(settings)
    with contextlib.suppress(FileNotFoundError, AuditKeyTooShort):
        if read_key_file(path) == key:
            return path
    _install(path, key, replace=True)
    return path


def read_key_file(path: Path) -> bytes:
    return checked_key(path.read_bytes().strip(), str(path))


def _file_key(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _install(path, secrets.token_hex(32).encode(), replace=False)
    return read_key_file(path)  # ours, or the one a concurrent process linked first


def _install(path: Path, key: bytes, *, replace: bool) -> None:
    """Write ``key`` to a private temporary file, then link it into place: a
    reader sees no file or the whole key, never an empty one. Without
    ``replace``, a key already there wins."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp creates it 0600
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def mac(key: bytes, *parts: str | bytes | int) -> bytes:
    """HMAC-SHA256 over length-framed parts."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(data).to_bytes(4, "big") + data)
    return digest.digest()


def mac_ok(key: bytes, expected: bytes, *parts: str | bytes | int) -> bool:
    return hmac.compare_digest(mac(key, *parts), expected)
