"""/docs works on a network without internet and tells no third party about
its readers: the page, Swagger UI's script and stylesheet and the start
script all come from the service, under a CSP that allows nothing else."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

REFERENCE = re.compile(r'\b(?:src|href)="([^"]*)"')


def test_the_docs_page_loads_nothing_from_another_host(app: FastAPI) -> None:
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "://" not in page.text and "<script>" not in page.text
        references = REFERENCE.findall(page.text)
        assert len(references) == 4
        for url in references:
            assert url.startswith("/") and not url.startswith("//"), url
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert not re.search(r"https?:|\*|unsafe-eval", policy)
        assert 'data-openapi-url="/openapi.json"' in page.text


def test_the_docs_assets_are_served_by_the_service(app: FastAPI) -> None:
    kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    with TestClient(app) as client:
        for url in REFERENCE.findall(client.get("/docs").text):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].startswith(kinds[url[url.rfind(".") :]]), url
            assert asset.headers["x-content-type-options"] == "nosniff"
        bundle = client.get("/docs/assets/swagger-ui-bundle.js").text
        assert len(bundle) > 500_000 and "SwaggerUIBundle" in bundle
        start = client.get("/docs/assets/start.js").text
        assert "validatorUrl: null" in start and "openapiUrl" in start
        for gone in ("/redoc", "/docs/oauth2-redirect", "/docs/assets/index.html"):
            assert client.get(gone).status_code == 404, gone
