"""Refuse request bodies over a limit (413) without reading them whole.

A declared Content-Length over the limit is refused before the body is
read; a body streamed without one is counted as it arrives and refused as
soon as it passes the limit. Upload paths may have a larger limit of their own.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024


def _message(limit: int) -> str:
    return f"the request body is larger than {limit / 2**20:.3g} MB"


class BodyTooLarge(ApiError):
    """Raised from inside ``receive`` when a streamed body passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", _message(limit), {"limit_bytes": limit})


class BodyLimit:
    """Pure ASGI middleware enforcing ``max_bytes`` on every HTTP request body
    (``uploads``: larger limits for the paths named)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, uploads: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope.get("path", ""), self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {"code": "payload_too_large", "message": _message(limit), "details": {"limit_bytes": limit}}
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
