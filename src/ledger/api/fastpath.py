"""A quicker road for well-formed commands, resolved from FastAPI's own declarations.

FastAPI resolves a route's parameters through its generic solver (response
object, exit stacks, overrides, error collection), a noticeable share of
the CPU of a whole command. ``CommandRoute`` keeps the route exactly as
declared, and before FastAPI's handler it walks the very dependency graph
FastAPI built for the route (``route.dependant``) in a lean way:

- every sub-dependency (the bearer token, ``get_principal``, each ``allow``
  role check, ``command_ctx``, ``get_ledger``) is called itself, with the
  values its own declaration asks for, cached per request as FastAPI does;
- headers and path parameters are read and validated by FastAPI's own
  ``request_params_to_args``, the JSON body by ``request_body_to_args``.

So a header added to ``command_ctx``, or a check added to a route, reaches
both roads by construction. The endpoint is then called with the very values
FastAPI would have given it. Anything that does not resolve cleanly — a
missing or unknown token, a refused role, an invalid header, id or body, a
body that is not JSON, a dependency override — leaves the request to FastAPI's
handler, so every error keeps its status, shape and order of checks. A route
whose graph holds anything else (a query parameter, a ``yield`` or ``def``
dependency, a background task...) has no direct road: ``fast_command``
returns None, and a test requires one for every declared command.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Fast = Callable[[Request], Awaitable[Response | None]]


class CommandRoute(APIRoute):
    """An ``APIRoute`` whose handler first tries ``fast_command`` (see above)."""

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        fast = fast_command(self)
        if fast is None:
            return standard

        async def handler(request: Request) -> Response:
            response = await fast(request)
            return response if response is not None else await standard(request)

        return handler


class _Unresolved(Exception):
    """The direct road cannot give this request the values FastAPI would."""


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - an instance with an async __call__
    )


def _resolvable(dependant: Dependant, top: bool) -> bool:
    """Whether ``_solve`` can resolve this graph exactly as FastAPI's solver would."""
    if (
        dependant.query_params
        or dependant.cookie_params
        or (dependant.body_params and not top)
        or dependant.websocket_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or not _is_async(dependant.call)
    ):
        return False
    for sub in dependant.dependencies:
        if getattr(sub, "concurrency", None) is not None or not _resolvable(sub, top=False):
            return False
    return True


async def _solve(dependant: Dependant, request: Request, cache: dict[Any, Any]) -> dict[str, Any]:
    """The values of ``dependant``'s parameters, the body's aside."""
    values: dict[str, Any] = {}
    for sub in dependant.dependencies:
        call = cast(Callable[..., Awaitable[Any]], sub.call)
        if sub.use_cache and call in cache:
            solved = cache[call]
        else:
            solved = await call(**await _solve(sub, request, cache))
            cache.setdefault(call, solved)
        if sub.name is not None:
            values[sub.name] = solved
    for fields, received in (
        (dependant.path_params, request.path_params),
        (dependant.header_params, request.headers),
    ):
        if fields:
            found, errors = request_params_to_args(fields, received)
            if errors:
                raise _Unresolved
            values.update(found)
    for name in (dependant.request_param_name, dependant.http_connection_param_name):
        if name:
            values[name] = request
    return values


def fast_command(route: APIRoute) -> Fast | None:
    """The direct resolution of ``route``'s parameters, or None when its
    dependency graph holds something ``_solve`` does not resolve, its body is
    not one JSON model, or its endpoint does not answer a ``Response`` itself."""
    dependant = route.dependant
    embed = bool(getattr(route, "_embed_body_fields", False))
    if not _resolvable(dependant, top=True) or len(dependant.body_params) != 1 or embed:
        return None
    endpoint = cast(Callable[..., Awaitable[Response]], dependant.call)
    answer = inspect.signature(endpoint, eval_str=True).return_annotation
    if not (isinstance(answer, type) and issubclass(answer, Response)):
        return None  # FastAPI would serialise what it returns
    body_params = dependant.body_params

    async def fast(request: Request) -> Response | None:
        if request.app.dependency_overrides:
            return None
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None
        try:
            values = await _solve(dependant, request, {})
        except Exception:  # invalid, or a dependency's own refusal (401, 403...): FastAPI's
            return None  # handler raises it again, in its order and its words
        try:
            data = await request.body()
        except HTTPException:
            raise
        except Exception as e:  # as FastAPI's handler answers it
            raise HTTPException(400, "There was an error parsing the body") from e
        if not data:
            return None
        try:
            received = json.loads(data)
        except ValueError:
            return None
        body, errors = await request_body_to_args(body_params, received, embed)
        if errors:
            return None
        return await endpoint(**values, **body)

    return fast
