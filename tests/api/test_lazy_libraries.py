"""A served worker loads the spreadsheet, PDF and numeric libraries only when
a request needs them (an export, an import, a printed document, a forecast):
together about 29 MB of every worker's memory and 0.3 s of its start."""

from __future__ import annotations

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from fresh import run_fresh
from ledger.formats import pdf

HEAVY = ("openpyxl", "python_calamine", "xlsxwriter", "reportlab", "numpy")


def test_the_app_loads_no_file_library_until_a_request_uses_one() -> None:
    script = [
        "import json, sys",
        "from fastapi.testclient import TestClient",
        "import ledger.api.app",
        f"heavy = {HEAVY!r}",
        "loaded = {'import': [m for m in heavy if m in sys.modules]}",
        "from ledger.api.app import create_app",
        "from ledger.settings import Settings",
        "app = create_app(Settings(database_url='memory://', tokens={'t': {'role': 'admin'}}))",
        "loaded['create_app'] = [m for m in heavy if m in sys.modules]",
        "with TestClient(app) as client:",
        "    answer = client.get('/orders', headers={'Authorization': 'Bearer t'})",
        "    assert answer.status_code == 200, answer.text",
        "loaded['served'] = [m for m in heavy if m in sys.modules]",
        "print(json.dumps(loaded))",
    ]  # fmt: skip
    loaded = run_fresh(script)
    assert loaded == {"import": [], "create_app": [], "served": []}


def test_the_documents_page_units_are_reportlabs() -> None:
    """``ledger.formats.pdf`` computes them itself so as not to load reportlab."""
    assert (pdf.mm, pdf.A4, pdf.CONTENT_WIDTH) == (mm, A4, A4[0] - 36 * mm)
