"""The command shortcut (ledger.api.shortcut) sends a POST to the very route
FastAPI's routing would pick, and leaves every other request to the router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from api_client import TOKENS, receipt
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api.app import LedgerAPI, create_app
from ledger.api.commands import COMMANDS
from ledger.api.routes.commands import command_router
from ledger.api.shortcut import CommandShortcut, _overlap, _shape, shortcut_of
from ledger.settings import Settings

M = {"Authorization": "Bearer t-merchandiser"}


class Seen:
    """Outermost middleware: the route the request went to (the scope is shared)."""

    routes: ClassVar[list[Any]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            Seen.routes.append(scope.get("route"))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FastAPI, TestClient, CommandShortcut]]:
    app = create_app(Settings(database_url="memory://", tokens=TOKENS))
    app.add_middleware(Seen)
    with TestClient(app, raise_server_exceptions=True) as client:
        client.get("/health/live")  # builds the middleware stack
        shortcut = shortcut_of(app)
        assert shortcut is not None
        yield app, client, shortcut


def _route_fastapi_picks(app: FastAPI, client: TestClient, path: str) -> Any:
    """POST ``path`` with FastAPI's own routing (any override sends the
    shortcut aside), unauthenticated: no command runs."""
    app.dependency_overrides[_route_fastapi_picks] = _route_fastapi_picks
    try:
        Seen.routes.clear()
        client.post(path, json={})
        return Seen.routes[-1]
    finally:
        app.dependency_overrides.clear()


def _scope(app: FastAPI, path: str) -> Scope:
    return {"type": "http", "method": "POST", "path": path, "root_path": "", "app": app,
            "headers": [], "query_string": b""}  # fmt: skip


def test_every_declared_command_goes_by_the_shortcut(served: Any) -> None:
    _, _, shortcut = served
    taken = {entry.route.path for entries in shortcut.table().values() for entry in entries}
    assert {declared.path for declared in COMMANDS} <= taken


@pytest.mark.parametrize("declared", COMMANDS, ids=lambda d: d.name)
def test_each_command_path_reaches_the_route_fastapi_picks(served: Any, declared: Any) -> None:
    app, client, shortcut = served
    path = declared.path
    for name in ("order_id", *declared.ids):
        path = path.replace("{" + name + "}", str(uuid4()) if name != "kind" else "packing_list")
    found = shortcut.find(_scope(app, path))
    assert found is not None, path
    assert found[0].route is _route_fastapi_picks(app, client, path)


SEGMENTS = sorted(
    {s for d in COMMANDS for s in d.path.split("/") if s and "{" not in s}
    | {"x", "import", "imports", "ui", "webhooks", "中文", "", "documents", "packing_list"}
)


_SEGMENT = st.sampled_from(SEGMENTS) | st.uuids().map(str)


@given(st.lists(_SEGMENT, min_size=1, max_size=7).filter(lambda s: s[0] != ""))
def test_a_path_the_shortcut_takes_is_one_fastapi_routes_the_same_way(
    served: Any, segments: list[str]
) -> None:
    app, client, shortcut = served
    path = "/" + "/".join(segments)
    found = shortcut.find(_scope(app, path))
    picked = _route_fastapi_picks(app, client, path)
    if found is not None:
        assert found[0].route is picked
    elif picked is not None and picked.path in {d.path for d in COMMANDS}:
        raise AssertionError(f"{path}: FastAPI routes it to a command, the shortcut does not")


def _received(client: TestClient) -> float:
    metrics = client.get("/metrics", headers={"Authorization": "Bearer t-auditor"}).text
    prefix = 'ledger_commands_total{command="receive_order"} '
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_a_command_answers_alike_by_the_shortcut_and_by_the_router(served: Any) -> None:
    app, client, _ = served
    counted = _received(client)
    by_shortcut = client.post("/orders", json=receipt(), headers=M)
    app.dependency_overrides[_route_fastapi_picks] = _route_fastapi_picks
    try:
        by_router = client.post("/orders", json=receipt(), headers=M)
    finally:
        app.dependency_overrides.clear()
    assert by_shortcut.status_code == by_router.status_code == 201
    assert by_shortcut.json()["lines"] == by_router.json()["lines"]
    assert by_shortcut.headers["location"].startswith("/orders/")
    # the route's endpoint was in the scope: the command is counted by its name
    assert _received(client) == counted + 2


def test_a_route_mounted_before_a_command_keeps_the_paths_it_matches() -> None:
    app = LedgerAPI()

    @app.post("/orders/{anything}/cancel")
    async def first(anything: str) -> PlainTextResponse:
        return PlainTextResponse(f"first {anything}")

    app.include_router(command_router("lifecycle"))
    with TestClient(app) as client:
        answer = client.post(f"/orders/{uuid4()}/cancel", json={})
        assert answer.status_code == 200
        assert answer.text.startswith("first ")
        shortcut = shortcut_of(app)
        assert shortcut is not None
        taken = {e.route.path for entries in shortcut.table().values() for e in entries}
        assert "/orders/{order_id}/cancel" not in taken
        assert "/orders/{order_id}/hold" in taken
        match = shortcut.find(_scope(app, f"/orders/{uuid4()}/hold"))
        assert match is not None and match[0].context.matches(_scope(app, "/x"))[0] == Match.NONE


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("/orders/{order_id}/verify", "/orders/{x}/verify", True),
        ("/orders/{order_id}/verify", "/orders/{x}/confirm", False),
        ("/orders/{order_id}/verify", "/orders/import", False),
        ("/orders/{order_id}/verify", "/orders/{rest:path}", True),
        ("/orders/{order_id}/verify", "/ui/{rest:path}", False),
        ("/orders", "/orders/{order_id}", False),
        ("/orders/{order_id}/verify", "/orders/v{n}/verify", True),
    ],
)
def test_two_route_shapes_overlap_when_some_path_matches_both(
    a: str, b: str, expected: bool
) -> None:
    assert _overlap(_shape(a), _shape(b)) is expected
    assert _overlap(_shape(b), _shape(a)) is expected
