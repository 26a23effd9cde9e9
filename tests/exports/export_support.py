"""Helpers of the export tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

from typing import Any

from api_client import Api


def get(api: Api, path: str, as_: str = "auditor", **params: Any) -> Any:
    response = api.get(path, params=params, as_=as_)
    assert response.status_code == 200, response.text
    return response
