"""Who is looking at a page: the bearer token kept in a session cookie.

The cookie holds the same token the API takes (``HttpOnly`` so page scripts
never see it, ``SameSite=Strict`` so other sites cannot ride on it). The
token is checked against the token table on every request, so a token
removed from ``LEDGER_TOKENS`` stops working at the next restart.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from ledger.api.auth import Principal, TokenTable

TOKEN_COOKIE = "ledger_token"
HOME = "/ui/board"


def principal_of(request: Request) -> Principal | None:
    """The caller by the cookie's token (or an ``Authorization`` header), else None."""
    token = request.cookies.get(TOKEN_COOKIE)
    header = request.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token or len(token) > 512:
        return None
    return check_token(request, token)


def check_token(request: Request, token: str) -> Principal | None:
    return cast(TokenTable, request.app.state.tokens).principal(token)


def keep_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )


def forget_token(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path="/ui", httponly=True, samesite="strict")


def safe_next(target: str | None) -> str:
    """A local /ui/ path to return to; anything else goes to the board."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return HOME
    return target


def same_origin(request: Request) -> bool:
    """A form post from this site: its Origin (when sent) is our own host."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")
