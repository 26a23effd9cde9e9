"""The audit key that seals chain heads, exports and backups.

``LEDGER_AUDIT_KEY`` when set. Otherwise the embedded store keeps a
generated key in a file beside the database (mode 0600) and the in-memory
store one per process; a PostgreSQL store without the setting refuses
audit commands, since a key kept beside a shared server would protect nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from ledger.settings import Settings

_PROCESS_KEYS: dict[int, bytes] = {}


class AuditKeyMissing(Exception):
    """PostgreSQL needs ``LEDGER_AUDIT_KEY`` for every audit command."""

    code = "audit_key_missing"

    def __init__(self) -> None:
        super().__init__(
            "set LEDGER_AUDIT_KEY (the HMAC key that seals the hash chain) to use audit "
            "commands on PostgreSQL; when moving from SQLite, use the key in <db>.audit-key"
        )


def key_file(settings: Settings) -> Path:
    """Where the embedded store keeps its generated key."""
    return Path(settings.database.path + ".audit-key")


def audit_key(settings: Settings, recorder: Any = None) -> bytes:
    """The key for ``settings``; generated and kept for an embedded store."""
    if settings.audit_key:
        return settings.audit_key.encode()
    backend = settings.database.backend
    if backend == "memory":
        return _PROCESS_KEYS.setdefault(id(recorder), secrets.token_bytes(32))
    if backend == "sqlite":
        return _file_key(key_file(settings))
    raise AuditKeyMissing


def _file_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def mac(key: bytes, *parts: str | bytes | int) -> bytes:
    """HMAC-SHA256 over length-framed parts."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(data).to_bytes(4, "big") + data)
    return digest.digest()


def mac_ok(key: bytes, expected: bytes, *parts: str | bytes | int) -> bool:
    return hmac.compare_digest(mac(key, *parts), expected)
