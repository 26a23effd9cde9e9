"""Bearer tokens, roles and what each role may do (docs/api.md).

``LEDGER_TOKENS`` maps a token to a role name, or to ``{"role": ..., "name":
...}``. A role may also be a list or a comma-separated string of roles (the
development token is ``merchandiser,auditor,admin``). Tokens are kept only as
SHA-256 digests; the actor recorded on events is the token's name, or its
roles and an 8-hex fingerprint — never the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SALES = frozenset(
    {
        "receive",
        "verify",
        "amend",
        "confirm",
        "promise",
        "split",
        "merge",
        "complaint",
        "hold",
        "release",
        "tracking",
        "backlog",
    }
)
WAREHOUSE = frozenset({"stock", "pack", "document", "dispatch", "transit", "deliver"})
FINANCE = frozenset({"invoice", "credit", "payment", "settle"})
LIFECYCLE = (
    SALES
    | WAREHOUSE
    | FINANCE
    | {"schedule", "purchase", "production", "quality", "short_close", "cancel", "archive"}
)
GRANTS: dict[str, frozenset[str]] = {
    "sales": SALES,
    "merchandiser": LIFECYCLE,
    "warehouse": WAREHOUSE,
    "finance": FINANCE,
    "auditor": frozenset({"audit"}),
    "admin": frozenset({"admin"}),
}
ROLES = tuple(GRANTS)
DEVELOPMENT_ROLES = ("merchandiser", "auditor", "admin")


class TokenConfigError(ValueError):
    """LEDGER_TOKENS names an unknown role or has an unreadable entry."""


class TokensRequired(RuntimeError):
    """A shared store (PostgreSQL) is never served without configured tokens."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the roles their token carries, the actor to record, and
    the scope of their idempotency keys (``name:<name>``, or for a token
    without a name ``token:<16 hex of its SHA-256>``)."""

    actor: str
    roles: frozenset[str]
    scope: str = ""

    def may(self, permission: str) -> bool:
        return any(permission in GRANTS[role] for role in self.roles)


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _roles(value: Any, token: str) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names:
        raise TokenConfigError(f"token {fingerprint(token)}: role must be a name or a list")
    roles = frozenset(str(name).strip() for name in names)
    unknown = roles - set(ROLES)
    if unknown:
        raise TokenConfigError(
            f"token {fingerprint(token)}: unknown role(s) {sorted(unknown)}; known: {ROLES}"
        )
    return roles


def _principal(token: str, entry: Any) -> Principal:
    if isinstance(entry, Mapping):
        roles = _roles(entry.get("role", entry.get("roles")), token)
        name = str(entry.get("name") or "")
    else:
        roles, name = _roles(entry, token), ""
    actor = name or f"{'+'.join(sorted(roles))}:{fingerprint(token)}"
    scope = f"name:{name}" if name else f"token:{_digest(token)[:16]}"
    return Principal(actor=actor, roles=roles, scope=scope)


class TokenTable:
    """Looks a bearer token up by its digest."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not config:
            raise TokenConfigError("LEDGER_TOKENS is empty")
        self._by_digest = {
            _digest(token): _principal(token, entry) for token, entry in config.items()
        }

    def principal(self, token: str) -> Principal | None:
        return self._by_digest.get(_digest(token))

    def actors(self, permission: str) -> list[str]:
        """The actors of the tokens allowed ``permission`` (the pages' people pickers)."""
        return sorted({p.actor for p in self._by_digest.values() if p.may(permission)})


def development_tokens() -> tuple[str, dict[str, Any]]:
    """A fresh token with the merchandiser, auditor and admin rights together."""
    token = "dev-" + secrets.token_urlsafe(24)
    return token, {token: {"role": ",".join(DEVELOPMENT_ROLES), "name": "developer"}}


def resolve_tokens(config: Mapping[str, Any] | None, store: str) -> tuple[TokenTable, str | None]:
    """The configured tokens; or, for an embedded store only, a development token."""
    if config:
        return TokenTable(config), None
    if store == "postgres":
        raise TokensRequired(
            "LEDGER_TOKENS must be set to serve a PostgreSQL store "
            '(e.g. {"<token>": {"role": "merchandiser", "name": "alice"}})'
        )
    token, table = development_tokens()
    return TokenTable(table), token
