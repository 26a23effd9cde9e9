"""What the order page's action forms show: the offered commands, each with
its fields, subjects, prefilled rows, one-time key, version and form token."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ledger.api.auth import Principal
from ledger.api.ui.actions import Action, csrf_token, offered, one_time_key
from ledger.api.ui.forms import row_count

ROW_FIELDS = ("lines", "items", "parts")


def prefill(action: Action, state: dict[str, Any]) -> tuple[dict[str, str], dict[str, int]]:
    """Starting values: the order's open lines in a command's rows of lines."""
    values: dict[str, str] = {}
    rows: dict[str, int] = {}
    for f in action.fields:
        if f.kind != "rows":
            continue
        keys = {c.key for c in f.columns}
        if keys == {"sku", "quantity"} and f.name == "lines":
            open_lines = [line for line in state["lines"] if line["open"]]
            for i, line in enumerate(open_lines):
                values[f"lines.{i}.sku"] = line["sku"]
                values[f"lines.{i}.quantity"] = str(line["open"])
            rows[f.name] = max(len(open_lines), 1)
        else:
            rows[f.name] = 1
    return values, rows


def workspace_forms(
    request: Request,
    who: Principal,
    view: dict[str, Any],
    next_action: str,
    failed: dict[str, Any] | None,
) -> dict[str, Any]:
    state = view["state"]
    if view["shown"] != view["latest"]:
        return {"actions": [], "csrf": csrf_token(request), "refused_elsewhere": ""}
    forms = []
    for action in offered(who, state, next_action):
        again = failed is not None and failed["action"] == action.name
        if again:
            assert failed is not None
            values, errors = failed["values"], failed["errors"]
            rows = {f.name: max(row_count(values, f.name), 1) + failed.get("add", {}).get(f.name, 0)
                    for f in action.fields if f.kind == "rows"}  # fmt: skip
            key, version = failed["key"], failed["version"]
        else:
            (values, rows), errors = prefill(action, state), {}
            key, version = one_time_key(), view["latest"]
        forms.append({
            "action": action, "fields": action.fields, "given": values, "errors": errors,
            "rows": rows, "key": key, "version": version,
            "subjects": action.subjects(state) if action.subjects else [],
            "message": failed["message"] if again and failed else "",
            "next": next_action in action.serves,
        })  # fmt: skip
    # A refused command the order's state no longer offers: its message on top.
    shown = {f["action"].name for f in forms}
    orphan = failed["message"] if failed and failed["action"] not in shown else ""
    return {"actions": forms, "csrf": csrf_token(request), "refused_elsewhere": orphan}
