"""Query and path parameters follow the text rules of bodies: a NUL (which
PostgreSQL refuses in text) or another control character is a 422 in the one
error shape, on every store, and nothing reaches the store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from api_client import Api
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

# Every text filter of the read models (the issue named the first six).
FILTERS = [
    ("/orders", "customer"),
    ("/orders", "number"),
    ("/board", "customer"),
    ("/alerts", "customer"),
    ("/reports/sales", "customer"),
    ("/audit/archive", "customer"),
    ("/orders", "stage"),
    ("/backlog", "customer"),
    ("/backlog", "product"),
    ("/reports/sales", "channel"),
    ("/reports/sales", "product"),
    ("/reports/sales", "currency"),
    ("/reports/sales", "group_by"),
    ("/reports/lead-times", "customer"),
    ("/reports/lead-times", "channel"),
    ("/complaints", "customer"),
    ("/complaints", "number"),
    ("/complaints", "status"),
    ("/shipments", "customer"),
    ("/shipments", "carrier"),
    ("/shipments", "number"),
    ("/audit/archive", "number"),
    ("/audit/archive", "period"),
]
BAD_TEXTS = ["a\x00b", "\x00", "上海\x1f", "\x7f", "\x9b"]


def refused(response: Any, *where: str) -> bool:
    """A 422 in the one error shape whose details name the parameter."""
    if response.status_code != 422:
        return False
    body = response.json()
    locs = [detail["loc"] for detail in body["details"]]
    return set(body) == {"code", "message", "details"} and list(where) in locs


def test_a_control_character_in_any_query_filter_is_a_422_on_every_store(
    any_backend_api: Api,
) -> None:
    any_backend_api.receive()
    wrong = [
        (path, name, text, response.status_code)
        for path, name in FILTERS
        for text in BAD_TEXTS
        if not refused(response := any_backend_api.get(path, params={name: text}), "query", name)
    ]
    assert wrong == []
    # Still answered normally afterwards: nothing broke in the store's connection.
    assert any_backend_api.get("/orders", params={"customer": "上海"}).status_code == 200


def test_a_control_character_in_a_path_parameter_is_a_422_on_every_store(
    any_backend_api: Api,
) -> None:
    order = any_backend_api.receive()
    for text in BAD_TEXTS:
        name = quote(f"上海{text}", safe="")
        statement = any_backend_api.get(f"/customers/{name}/statement")
        assert refused(statement, "path", "name"), statement.text
        erase = any_backend_api.post(f"/customers/{name}/erase", as_="admin")
        assert refused(erase, "path", "name"), erase.text
        pack = any_backend_api.post(f"/orders/{order['id']}/shipments/{name}/pack", {})
        assert refused(pack, "path", "shipment_id"), pack.text
    assert any_backend_api.get("/customers/上海/statement").status_code == 200


def test_no_query_or_path_parameter_of_any_route_accepts_a_nul(app: FastAPI) -> None:
    """The rule lives in one parameter type; this walks every route, the pages
    under /ui included, so a new parameter cannot go without it."""
    routes = list(api_routes(app.routes))
    accepting = [
        f"{route.path} {field.name}"
        for route in routes
        for field in parameters(route.dependant)
        if not field.validate("a\x00b", {}, loc=("query", field.name))[1]
    ]
    assert accepting == []
    assert len(routes) > 60 and any(route.path == "/board" for route in routes)


def parameters(dependant: Dependant) -> list[Any]:
    """The query and path parameters of a route and of its dependencies."""
    found = [*dependant.query_params, *dependant.path_params]
    for sub in dependant.dependencies:
        found.extend(parameters(sub))
    return found


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every ``APIRoute``, also inside included routers (which newer FastAPI
    keeps as such instead of copying their routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)
