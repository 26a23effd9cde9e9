"""A quicker road for well-formed commands, resolved from FastAPI's own declarations.

FastAPI resolves a route's parameters through its generic solver (response
object, exit stacks, overrides, error collection), a noticeable share of
the CPU of a whole command. ``CommandRoute`` keeps the route exactly as
declared, and before FastAPI's handler it walks the very dependency graph
FastAPI built for the route (``route.dependant``) in a lean way:

- every sub-dependency (the bearer token, ``get_principal``, each ``allow``
  role check, ``command_ctx``, ``get_ledger``) is called itself, with the
  values its own declaration asks for, cached per request as FastAPI does;
- headers and path parameters are read by their declared keys and defaults
  and validated by their own FastAPI fields (as ``request_params_to_args``
  does for plain ones, without its generic look-ups per request); the JSON
  body by FastAPI's ``request_body_to_args``.

So a header added to ``command_ctx``, or a check added to a route, reaches
both roads by construction. The endpoint is then called with the very values
FastAPI would have given it. Anything that does not resolve cleanly — a
missing or unknown token, a refused role, an invalid header, id or body, a
body that is not JSON, a dependency override — leaves the request to FastAPI's
handler, so every error keeps its status, shape and order of checks (the
dependencies then run a second time: they must have no side effects, and
none of the commands' has). A route
whose graph holds anything else (a query parameter, a ``yield`` or ``def``
dependency, a background task...) has no direct road: ``fast_command``
returns None, and a test requires one for every declared command.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from fastapi import params
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args
from fastapi.routing import APIRoute
from pydantic import BaseModel, Json
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


_IMMUTABLE = (type(None), str, int, float, bool, bytes)


@dataclass(frozen=True)
class _Param:
    """A path or header parameter, read as FastAPI's ``request_params_to_args``
    reads a plain one: by its key, its default when absent, else validated by
    its own field."""

    name: str
    field: ModelField
    in_path: bool
    key: str
    required: bool
    default: Any
    loc: tuple[str, str]

    @classmethod
    def of(cls, field: ModelField) -> _Param | None:
        """None for what a plain read would get wrong: a list or a model of
        parameters, a JSON-typed one, a default to validate or to copy."""
        info = field.field_info
        annotation = info.annotation
        if (
            not isinstance(info, params.Path | params.Header)
            or field_annotation_is_sequence(annotation)
            or (isinstance(annotation, type) and issubclass(annotation, BaseModel))
            or any(type(item) is Json for item in info.metadata)
            or info.validate_default
            or not (info.is_required() or isinstance(field.default, _IMMUTABLE))
        ):
            return None
        in_path = isinstance(info, params.Path)
        place = "path" if in_path else "header"
        return cls(
            field.name, field, in_path, field.alias, info.is_required(), field.default,
            (place, field.alias),
        )  # fmt: skip

    def read(self, request: Request, values: dict[str, Any]) -> Any:
        received = request.path_params if self.in_path else request.headers
        raw = received.get(self.key)
        if raw is None:
            if self.required:
                raise _Unresolved
            return self.default
        value, errors = self.field.validate(raw, values, loc=self.loc)
        if errors:
            raise _Unresolved
        return value


@dataclass(frozen=True)
class _Node:
    """One dependency (or the endpoint): what to call with which values."""

    call: Callable[..., Awaitable[Any]]
    name: str | None
    use_cache: bool
    parameters: tuple[_Param, ...]
    request_names: tuple[str, ...]
    dependencies: tuple[_Node, ...]

    @classmethod
    def of(cls, dependant: Dependant, top: bool) -> _Node | None:
        """The node, or None when its graph holds what ``_solve`` does not resolve."""
        if (
            dependant.query_params
            or dependant.cookie_params
            or (dependant.body_params and not top)
            or dependant.websocket_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or getattr(dependant, "concurrency", None) is not None
            or not _is_async(dependant.call)
        ):
            return None
        parameters = [_Param.of(f) for f in (*dependant.path_params, *dependant.header_params)]
        dependencies = [cls.of(sub, top=False) for sub in dependant.dependencies]
        if None in parameters or None in dependencies:
            return None
        names = (dependant.request_param_name, dependant.http_connection_param_name)
        return cls(
            call=cast(Callable[..., Awaitable[Any]], dependant.call),
            name=dependant.name,
            use_cache=dependant.use_cache,
            parameters=tuple(p for p in parameters if p is not None),
            request_names=tuple(name for name in names if name),
            dependencies=tuple(d for d in dependencies if d is not None),
        )


async def _solve(node: _Node, request: Request, cache: dict[Any, Any]) -> dict[str, Any]:
    """The values of ``node``'s parameters, the body's aside."""
    values: dict[str, Any] = {}
    for sub in node.dependencies:
        if sub.use_cache and sub.call in cache:
            solved = cache[sub.call]
        else:
            solved = await sub.call(**await _solve(sub, request, cache))
            cache.setdefault(sub.call, solved)
        if sub.name is not None:
            values[sub.name] = solved
    for parameter in node.parameters:
        values[parameter.name] = parameter.read(request, values)
    for name in node.request_names:
        values[name] = request
    return values


def fast_command(route: APIRoute) -> Fast | None:
    """The direct resolution of ``route``'s parameters, or None when its
    dependency graph holds something ``_solve`` does not resolve, its body is
    not one JSON model, or its endpoint does not answer a ``Response`` itself."""
    dependant = route.dependant
    embed = bool(getattr(route, "_embed_body_fields", False))
    node = _Node.of(dependant, top=True)
    if node is None or len(dependant.body_params) != 1 or embed:
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
            values = await _solve(node, request, {})
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
