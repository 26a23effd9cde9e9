"""Helpers of the export tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from api_client import Api


def get(api: Api, path: str, as_: str = "auditor", **params: Any) -> Any:
    response = api.get(path, params=params, as_=as_)
    assert response.status_code == 200, response.text
    return response


def settled(client: httpx.Client) -> None:
    """Every projection has applied every event."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get("/admin/projections", headers=Api.auth("admin")).json()
        if all(p["lag_events"] == 0 for p in status["projections"]):
            return
        time.sleep(0.1)
    raise AssertionError("the projections did not catch up in 60 s")
