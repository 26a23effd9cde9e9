"""Webhook secrets and signatures in the Standard Webhooks format.

A secret is ``whsec_`` + base64 of 32 random bytes; it is shown once, when
the subscription is made. The service must keep it to sign, so it cannot
keep only a hash: it stores the secret sealed with AES-256-GCM under a key
derived (HKDF-SHA256) from the audit key (``LEDGER_AUDIT_KEY``, or the
embedded store's generated key file), with the subscription's id as
associated data. The database alone (a dump, a backup, a read-only leak)
therefore yields no secret, and a sealed secret cannot be moved to another
subscription. The signature is ``v1,`` + base64 of HMAC-SHA256 over
``"{webhook-id}.{webhook-timestamp}.{body}"`` with the secret's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.audit.keys import audit_key

PREFIX = "whsec_"
_INFO = b"ledger webhook secrets v1"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of one attempt."""
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class SecretUnreadable(Exception):
    """A sealed secret that this key did not seal (the audit key changed)."""


class SecretBox:
    """Seals and opens webhook secrets under a key derived from the audit key."""

    def __init__(self, audit_key: bytes) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
        self._aead = AESGCM(hkdf.derive(audit_key))

    def seal(self, webhook_id: str, secret: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, webhook_id: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], webhook_id.encode()).decode()
        except InvalidTag:
            raise SecretUnreadable(f"the secret of {webhook_id} cannot be opened") from None


def box_for(settings: Any, recorder: Any) -> SecretBox:
    """The box of a store: its audit key's (``AuditKeyMissing`` on PostgreSQL without one)."""
    return SecretBox(audit_key(settings, recorder))
