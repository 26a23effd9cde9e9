"""The command routes, generated from the declarations in ``ledger.api.commands``.

Each declared command becomes one route: its path and method, the role check
of its permission, the order's id and the other ids of its path, its body
model, the ledger and the command context (``CtxDep``: token, If-Match,
Idempotency-Key, X-Correlation-Id, X-Causation-Id, X-Reason). The endpoint
runs the declaration on a worker thread and answers the order as it now is.
Routes are ``CommandRoute``s: their direct road (``ledger.api.fastpath``)
resolves the same graph, so both roads take the same parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.api.commands import COMMANDS, CommandDeclaration, Target
from ledger.api.deps import CtxDep, LedgerDep, OrderId, allow, ctx_for, in_thread
from ledger.api.errors import COMMAND_ERRORS
from ledger.api.fastpath import CommandRoute
from ledger.api.responses import OrderOut, order_response

Endpoint = Callable[..., Awaitable[Response]]


def command_router(tag: str) -> APIRouter:
    """The routes of the commands declared with ``tag``, in their declared order."""
    router = APIRouter(route_class=CommandRoute)
    for declared in COMMANDS:
        if declared.tag == tag:
            router.add_api_route(
                declared.path,
                endpoint(declared),
                methods=[declared.method],
                name=declared.endpoint,
                response_model=OrderOut,
                status_code=declared.status_code if declared.status_code != 200 else None,
                dependencies=[allow(declared.permission)],
                responses=COMMAND_ERRORS,
                tags=[tag],
            )
    return router


def endpoint(declared: CommandDeclaration[Any]) -> Endpoint:
    """The route function of ``declared``, with the signature FastAPI reads."""

    async def run_command(**values: Any) -> Response:
        target = Target(values.get("order_id"), {name: values[name] for name in declared.ids})
        body = values["body"]
        ctx = ctx_for(values["ctx"], body)

        def run() -> Response:
            result = declared.run(values["ledger"], ctx, target, body)
            return order_response(
                result, status_code=declared.status_code, location=declared.creates
            )

        return await in_thread(run)

    def parameter(name: str, annotation: Any, **default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, **default
        )

    parameters = [parameter("order_id", OrderId)] if "{order_id}" in declared.path else []
    parameters += [parameter(name, hint) for name, hint in declared.ids.items()]
    if declared.body_required:
        parameters.append(parameter("body", declared.body))
    parameters += [parameter("ledger", LedgerDep), parameter("ctx", CtxDep)]
    if not declared.body_required:
        parameters.append(parameter("body", declared.body | None, default=None))
    run_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=Response
    )
    run_command.__name__ = run_command.__qualname__ = declared.endpoint
    run_command.__doc__ = declared.doc
    return run_command
