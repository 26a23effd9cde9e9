"""Dependencies of the routes, as ``Annotated`` aliases.

They are ``async`` because they never block: FastAPI then runs them on the
event loop instead of handing each to the thread pool.

``LedgerDep`` is the application; ``PrincipalDep`` the caller (401 when the
token is missing or unknown); ``allow("verify")`` refuses a role that may
not (403); ``CtxDep`` turns the caller and the request headers into the
application's ``Ctx``; ``ctx_for(ctx, body)`` adds a body's reason and
occurred_at.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.api.auth import Principal, TokenTable
from ledger.api.errors import ApiError
from ledger.api.params import CleanText
from ledger.api.schemas import CommandIn
from ledger.api.threads import CallThreads
from ledger.application import Ctx, Ledger

_bearer = HTTPBearer(auto_error=False, description="a token from LEDGER_TOKENS")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
# As many threads as the thread pool FastAPI gives ``def`` routes (anyio's 40).
_COMMANDS = CallThreads(40, "ledger-command")
T = TypeVar("T")


async def in_thread(call: Callable[[], T]) -> T:
    """``call()`` on a worker thread, in a copy of the caller's context
    (as FastAPI runs a ``def`` route), without blocking the event loop."""
    return await _COMMANDS.run(call)


async def get_ledger(request: Request) -> Ledger:
    return cast(Ledger, request.app.state.ledger)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise ApiError(
            401, "missing_token", "send Authorization: Bearer <token>", None, _UNAUTHORIZED
        )
    tokens = cast(TokenTable, request.app.state.tokens)
    principal = tokens.principal(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unknown_token", "the token is not known", None, _UNAUTHORIZED)
    return principal


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
OrderId = Annotated[UUID, Path(description="the order's id (a UUID)")]
SubId = Annotated[CleanText, Path(min_length=1, max_length=64)]


def allow(permission: str) -> Any:
    """A route dependency refusing callers whose roles lack ``permission``."""

    async def check(principal: PrincipalDep) -> None:
        if not principal.may(permission):
            raise ApiError(
                403,
                "forbidden",
                f"your role(s) may not {permission.replace('_', ' ')}",
                {"roles": sorted(principal.roles), "needs": permission},
            )

    return Depends(check)


def expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise ApiError(422, "invalid_if_match", 'If-Match must be a version in quotes, e.g. "3"')
    return int(found.group(1))


async def command_ctx(
    principal: PrincipalDep,
    if_match: Annotated[
        str | None, Header(max_length=40, description='the version seen, e.g. "3"')
    ] = None,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
    x_correlation_id: Annotated[str | None, Header(max_length=200)] = None,
    x_causation_id: Annotated[str | None, Header(max_length=200)] = None,
    x_reason: Annotated[str | None, Header(max_length=500)] = None,
) -> Ctx:
    return Ctx(
        actor=principal.actor,
        correlation_id=x_correlation_id or "",
        causation_id=x_causation_id or "",
        reason=x_reason or "",
        idempotency_key=idempotency_key or "",
        expected_version=expected_version(if_match),
        idempotency_scope=principal.scope,
    )


CtxDep = Annotated[Ctx, Depends(command_ctx)]


def ctx_for(ctx: Ctx, body: CommandIn | None) -> Ctx:
    """The context with the body's reason and business time, when it gives them."""
    if body is None:
        return ctx
    reason = getattr(body, "reason", None) or ctx.reason
    occurred_at = body.occurred_at or ctx.occurred_at
    if occurred_at is not None and occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return replace(ctx, reason=reason, occurred_at=occurred_at)


def new_id(prefix: str, ctx: Ctx, given: str | None) -> str:
    """The client's id, or a fresh one — derived from the (caller's) idempotency
    key when there is one, so a repeated request names the same shipment/issue/complaint."""
    if given:
        return given
    if ctx.idempotency_key:
        seed = hashlib.sha256(f"{prefix}:{ctx.scoped_key}".encode()).hexdigest()
    else:
        seed = uuid.uuid4().hex
    return f"{prefix}-{seed[:8].upper()}"
