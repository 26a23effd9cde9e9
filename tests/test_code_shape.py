"""The shape of ``src/``: short functions, and imports at the top of modules.

A function longer than ``MAX_FUNCTION_LINES`` is refused unless the
allow-list names it, at no more than the length it has there; the list may
only shrink (a listed function that got short must leave it). Imports inside
functions are refused except in the listed modules, each for the reason given:
a cycle between modules is broken by moving code, not by importing late.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_FUNCTION_LINES = 60

# "path:qualified name" -> the most lines it may have.
LONG_FUNCTIONS: dict[str, int] = {}

POSTGRES = "psycopg: only a PostgreSQL store loads it"
STATSMODELS = "numpy and statsmodels load only to forecast"
READ_FILE = "openpyxl, calamine and numpy load only to import a file"
# Modules that may import inside functions, and why.
LATE_IMPORTS = {
    "ledger/cli.py": "uvicorn and FastAPI load only to serve",
    "ledger/api/intake/command.py": READ_FILE,
    "ledger/sheets/container.py": READ_FILE,
    "ledger/sheets/reading.py": READ_FILE,
    "ledger/sheets/table.py": READ_FILE,
    "ledger/sheets/workbook.py": "openpyxl and numpy load only to write the import template",
    "ledger/formats/sheets.py": "xlsxwriter loads only to export a workbook",
    "ledger/formats/pdf.py": "reportlab loads only to print a document",
    "ledger/worker/forecasting.py": STATSMODELS,
    "ledger/projections/forecast.py": STATSMODELS,
    "ledger/projections/seasonal_report.py": STATSMODELS,
    "ledger/settings.py": "apscheduler loads only when a cron is set",
    "ledger/audit/store.py": POSTGRES,
    "ledger/integration/feed_views.py": POSTGRES,
    "ledger/persistence/key_tables.py": POSTGRES,
    "ledger/projections/runner.py": POSTGRES,
    "ledger/worker/leases.py": POSTGRES,
}


def _visit(node: ast.AST, module: str, prefix: str, found: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                found[f"{module}:{name}"] = (child.end_lineno or child.lineno) - child.lineno + 1
            _visit(child, module, f"{name}.", found)


def _functions() -> dict[str, int]:
    """Lines of every function and method of ``src/``, by "path:qualified name"."""
    found: dict[str, int] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _visit(tree, path.relative_to(SRC).as_posix(), "", found)
    return found


def test_no_function_is_longer_than_the_limit_or_its_allowance() -> None:
    functions = _functions()
    too_long = {
        name: lines
        for name, lines in functions.items()
        if lines > LONG_FUNCTIONS.get(name, MAX_FUNCTION_LINES)
    }
    assert not too_long, f"split these (at most {MAX_FUNCTION_LINES} lines): {too_long}"


def test_the_allow_list_of_long_functions_only_shrinks() -> None:
    functions = _functions()
    stale = {name for name in LONG_FUNCTIONS if functions.get(name, 0) <= MAX_FUNCTION_LINES}
    assert not stale, f"no longer long (or gone): remove from LONG_FUNCTIONS: {stale}"


def _late_imports() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        found.setdefault(module, []).append(inner.lineno)
    return found


def test_imports_inside_functions_only_where_a_reason_is_listed() -> None:
    late = _late_imports()
    unlisted = {module: lines for module, lines in late.items() if module not in LATE_IMPORTS}
    assert not unlisted, f"import at the top of the module (or list why not): {unlisted}"
    stale = set(LATE_IMPORTS) - set(late)
    assert not stale, f"no late imports left: remove from LATE_IMPORTS: {stale}"
