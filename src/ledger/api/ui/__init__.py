"""Server-rendered web pages (Jinja2, hand-written CSS and JS) over the read models."""

from fastapi import APIRouter

from ledger.api.ui.imports_page import router as imports_router
from ledger.api.ui.pages import router as pages_router

router = APIRouter()
router.include_router(imports_router)  # before the pages' catch-all 404
router.include_router(pages_router)

__all__ = ["router"]
