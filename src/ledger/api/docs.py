"""The interactive API docs (Swagger UI) served by the service itself.

FastAPI's own ``/docs`` page loads Swagger UI from a public CDN and starts it
with an inline script: on a network without internet the page stays blank,
and every visit tells a third party who reads the docs. Here the page, its
script and stylesheet all come from this service — Swagger UI from the
``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads the OpenAPI 3.1
document FastAPI writes) — under a Content-Security-Policy that allows
nothing else. ReDoc, which would need another bundle, is not served.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi import Path as InPath
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from ledger.api.params import CleanText

ASSETS = "/docs/assets"
# name → (file, media type); nothing else is served from here.
FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (Path(swagger_ui_path) / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (Path(swagger_ui_path) / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (Path(swagger_ui_path) / "favicon-32x32.png", "image/png"),
    "start.js": (Path(__file__).parent / "ui" / "static" / "swagger-start.js", "text/javascript"),
}
# Swagger UI sets styles from script (allowed) and in a few attributes (hence
# style-src-attr); its icons are data: URIs; "Try it out" calls this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src-elem 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API docs</title>
<link rel="icon" href="{assets}/favicon-32x32.png" type="image/png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/start.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """``GET /docs`` and its assets; build the app with ``docs_url=None, redoc_url=None``."""

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        html = PAGE.format(
            title=escape(app.title),
            assets=escape(root + ASSETS),
            openapi=escape(root + (app.openapi_url or "/openapi.json")),
        )
        return HTMLResponse(html, headers={**HEADERS, "Cache-Control": "no-cache"})

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    def asset(name: Annotated[CleanText, InPath(max_length=40)]) -> Response:
        if name not in FILES:
            return Response(status_code=404)
        path, media_type = FILES[name]
        headers = {**HEADERS, "Cache-Control": "public, max-age=86400"}
        return FileResponse(path, media_type=media_type, headers=headers)
