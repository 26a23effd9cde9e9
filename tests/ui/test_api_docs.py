"""/docs in a real browser with every other host unreachable: Swagger UI
renders every operation, breaks no CSP rule, and "Try it out" reaches the
service itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_support import Server

pytestmark = pytest.mark.slow


def test_the_docs_work_with_no_other_host_reachable(
    open_page: Callable[..., Any], server: Server
) -> None:
    page = open_page(signed_in=False)
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_here(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.url + "/") or url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_here)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    operations = sum(len(ops) for ops in server.get("/openapi.json")["paths"].values())
    assert page.locator(".opblock").count() == operations

    health = page.locator("#operations-health-health_health_get")
    health.locator(".opblock-summary").click()
    health.locator("button.try-out__btn").click()
    health.locator("button.execute").click()
    status = health.locator(".live-responses-table tbody .response-col_status")
    assert status.first.inner_text().strip() == "200"
    assert elsewhere == [] and problems == []
