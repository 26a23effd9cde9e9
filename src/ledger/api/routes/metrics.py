"""``GET /metrics``: Prometheus text format (any valid token)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ledger.api.deps import PrincipalDep
from ledger.api.errors import READ_ERRORS
from ledger.api.metrics import Metrics

router = APIRouter(tags=["admin"], responses=READ_ERRORS)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request, principal: PrincipalDep) -> Response:
    """Commands and refusals by type; each read model's position, lag and rows."""
    registry = cast(Metrics, request.app.state.metrics).registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
