"""Server-rendered web pages (Jinja2, hand-written CSS and JS) over the read models."""

from ledger.api.ui.pages import router

__all__ = ["router"]
