"""Commands straight to their route: past FastAPI's routing, not its error handling.

A ``POST /orders/{id}/verify`` went from the exception and exit-stack
middleware through Starlette's router, FastAPI's included routers (each
checking its routes' version, then trying its candidates in turn) and
``APIRoute.handle`` before its route's handler ran: about a twelfth of a
command's CPU in the server (docs/performance.md). ``CommandShortcut`` sits
exactly where the router does, inside every middleware and error handler,
and sends a ``POST`` whose path one of the command routes matches to that
route's own ASGI app — the very one FastAPI's routing would call — with the
scope FastAPI's routing would have set (``endpoint``, ``path_params``,
``route``, ``router``). Everything else goes to the router.

It claims a path only where FastAPI would pick the same route: a command
route is left out of the shortcut's table when any route mounted before it
that accepts a ``POST`` (or any method) could match a path of its shape, so
the first full match the router would find is always that command route.
The table is built from ``fastapi.routing.iter_route_contexts`` once, at the
first request (routes are all added by ``create_app``). It steps aside when
the app has dependency overrides or FastAPI's own telemetry watches the
request (it names the route as the router selects it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

_PARAM = re.compile(r"^\{[^}:]+(?::([^}]+))?\}$")
_REST = object()  # a ``{name:path}`` parameter: the rest of the path, any length
_ANY = object()  # one segment, any text


def _shape(path: str) -> tuple[Any, ...]:
    """A route template's segments: literal text, ``_ANY`` or ``_REST``."""
    shape: list[Any] = []
    for segment in path.split("/")[1:]:
        param = _PARAM.match(segment)
        if param is None:
            if "{" in segment:  # a parameter inside a segment: any text
                shape.append(_ANY)
            else:
                shape.append(segment)
        elif param.group(1) == "path":
            shape.append(_REST)
            break
        else:
            shape.append(_ANY)
    return tuple(shape)


def _overlap(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether some path could match both shapes."""
    for x, y in zip(a, b, strict=False):
        if x is _REST or y is _REST:
            return True
        if x is not _ANY and y is not _ANY and x != y:
            return False
    return len(a) == len(b) or _REST in (a[len(b) :] + b[len(a) :])[:1]


@dataclass(frozen=True)
class _Entry:
    context: Any  # fastapi.routing.RouteContext: matches() and app as routing uses them
    route: APIRoute


class CommandShortcut:
    """Stands in for the app's router (see the module's docstring)."""

    def __init__(self, router: ASGIApp, commands: type[APIRoute]) -> None:
        self.router = router
        self.commands = commands
        self._table: dict[tuple[int, str | None], list[_Entry]] | None = None

    def table(self) -> dict[tuple[int, str | None], list[_Entry]]:
        """The command routes the shortcut may take, by segment count and last literal."""
        if self._table is None:
            self._table = self._build()
        return self._table

    def _build(self) -> dict[tuple[int, str | None], list[_Entry]]:
        table: dict[tuple[int, str | None], list[_Entry]] = {}
        before: list[tuple[Any, ...] | None] = []  # shapes taking a POST (None: any path)
        for context in iter_route_contexts(getattr(self.router, "routes", [])):
            route = context.original_route
            path = context.path
            methods = context.methods if not isinstance(route, Mount) else None
            shape = _shape(path) if isinstance(path, str) else None
            if isinstance(route, Mount) and isinstance(path, str):
                shape = (*_shape(path.rstrip("/")), _REST) if path.strip("/") else (_REST,)
            if (
                isinstance(route, self.commands)
                and shape is not None
                and _REST not in shape
                and path == route.path
                and not any(s is None or _overlap(s, shape) for s in before)
            ):
                last = shape[-1] if shape and shape[-1] is not _ANY else None
                table.setdefault((len(shape), last), []).append(_Entry(context, route))
            if methods is None or "POST" in methods:
                before.append(shape)
        return table

    def find(self, scope: Scope) -> tuple[_Entry, Scope] | None:
        """The command route this request goes to and its child scope, or None."""
        segments = get_route_path(scope).split("/")[1:]
        table = self.table()
        for key in ((len(segments), segments[-1] if segments else None), (len(segments), None)):
            for entry in table.get(key, ()):
                match, child = entry.context.matches(scope)
                if match == Match.FULL:
                    return entry, child
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and "fastapi.telemetry" not in scope
            and not getattr(scope.get("app"), "dependency_overrides", None)
        ):
            found = self.find(scope)
            if found is not None:
                entry, child = found
                scope.setdefault("router", self.router)
                scope.update(child)
                scope["route"] = entry.route
                await entry.context.app(scope, receive, send)
                return
        await self.router(scope, receive, send)


def install_shortcut(app: FastAPI, stack: ASGIApp, commands: type[APIRoute]) -> ASGIApp:
    """``stack`` with its router replaced by a ``CommandShortcut`` to it (unchanged
    when the router is not found behind the middleware's ``app`` attributes)."""
    layer: Any = stack
    while (inner := getattr(layer, "app", None)) is not None and inner is not app.router:
        layer = inner
    if inner is app.router:
        layer.app = CommandShortcut(app.router, commands)
    return stack


def shortcut_of(app: FastAPI) -> CommandShortcut | None:
    """The app's shortcut once its middleware stack is built, if it has one."""
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, CommandShortcut):
        layer = getattr(layer, "app", None)
    return layer
