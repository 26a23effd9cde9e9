"""Plain HTML forms generated from the API's command declarations, and back.

A form field per field of a command's pydantic body, as its declaration
describes it (``ledger.api.commands``: ``CommandDeclaration.fields``): its
input type, limits and choices come from the model's own annotations, so a
page asks for exactly what the API accepts. A submitted form becomes
the JSON body the API takes (``to_body``); the API validates it, so a page
refuses exactly what the API refuses, with the same messages.

Names are paths: ``delivery.address``, ``lines.0.sku``; a list of models is
a table of rows, each row a numbered group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.api.commands import CommandDeclaration, FormField

# Fields a page never asks for: business time is "now" on a page.
HIDDEN = frozenset({"occurred_at"})
LONG = 500  # texts allowing more than this are a text area


@dataclass
class Field:
    """One input: ``kind`` is text, textarea, number, decimal, date, select,
    checkbox, checks (a dict of bools over choices), lines (a list of texts)
    or rows (a list of models: ``columns`` are a row's fields)."""

    name: str
    key: str  # the last part of the name: the label's key
    kind: str
    required: bool = False
    default: Any = ""
    choices: tuple[str, ...] = ()
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None
    pattern: str | None = None
    step: str | None = None
    columns: list[Field] = field(default_factory=list)
    group: list[Field] = field(default_factory=list)  # a nested model's fields


def fields_of(command: CommandDeclaration[Any]) -> list[Field]:
    """The inputs of a command's body, from its declaration's form fields
    (``CommandDeclaration.fields``); the path's ids are the page's subjects."""
    return _inputs(f for f in command.fields() if f.source == "body")


def _inputs(declared: Iterable[FormField], prefix: str = "") -> list[Field]:
    result = []
    for form_field in declared:
        made = _input(form_field, f"{prefix}{form_field.name}")
        if made is not None and form_field.name not in HIDDEN:
            result.append(made)
    return result


def _input(declared: FormField, name: str) -> Field | None:
    """One input, or None for what a page leaves to the API (a free mapping,
    a business time)."""
    limits, kind = declared.limits, declared.kind
    default = declared.default if declared.default is not None else ""
    if declared.required or not isinstance(default, str | int | Decimal | bool):
        default = ""
    made = Field(name, declared.name, "text", declared.required, default)
    if kind == "choice":
        made.kind, made.choices = "select", declared.choices
    elif kind == "group":
        made.kind, made.group = "group", _inputs(declared.items, f"{name}.")
    elif kind == "list":
        (item,) = declared.items
        if item.kind == "group":
            made.kind, made.columns = "rows", _inputs(item.items)
        else:
            made.kind = "lines"
        made.maximum, made.minimum = limits.get("max_length"), limits.get("min_length")
    elif kind == "mapping":
        if not declared.choices:
            return None  # a free mapping (invoice_info): left to the API
        made.kind, made.choices = "checks", declared.choices
    elif kind == "boolean":
        made.kind = "checkbox"
    elif kind == "integer":
        made.kind, made.step = "number", "1"
        made.minimum = limits.get("ge", limits["gt"] + 1 if "gt" in limits else None)
        made.maximum = limits.get("le", limits["lt"] - 1 if "lt" in limits else None)
    elif kind == "decimal":
        places = limits.get("decimal_places", 4)
        made.kind, made.step = "decimal", f"{Decimal(1).scaleb(-places):f}"
        made.minimum = limits.get("ge", limits.get("gt"))
        made.maximum = limits.get("le", limits.get("lt"))
    elif kind == "date":
        made.kind = "date"
    elif kind == "datetime":
        return None
    else:
        made.max_length, made.pattern = limits.get("max_length"), limits.get("pattern")
        if made.max_length is not None and made.max_length > LONG:
            made.kind = "textarea"
    return made


def row_count(form: Mapping[str, str], name: str) -> int:
    """How many rows of ``name`` a submitted form holds (``name.N.field``)."""
    seen = [int(k.split(".")[len(name.split("."))]) for k in form if k.startswith(f"{name}.")
            and k.split(".")[len(name.split("."))].isdigit()]  # fmt: skip
    return max(seen) + 1 if seen else 0


def to_body(fields: list[Field], form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body a submitted form stands for: empty optional inputs left
    out (the API's defaults apply), whole numbers as numbers where they parse,
    everything else as the text given, for the API to judge."""
    body: dict[str, Any] = {}
    for f in fields:
        value = _value(f, form)
        if value is not _ABSENT:
            body[f.key] = value
    return body


_ABSENT: Any = object()


def _value(f: Field, form: Mapping[str, str]) -> Any:
    raw = form.get(f.name, "").strip()
    if f.kind == "group":
        inner = to_body(f.group, form)
        if f.required or any(_changed(g, form) for g in f.group):
            return inner
        return _ABSENT  # an optional group left as it was: the API's default
    if f.kind == "rows":
        rows = []
        for i in range(row_count(form, f.name)):
            if form.get(f"{f.name}.{i}._remove"):
                continue
            cells = [Field(**{**c.__dict__, "name": f"{f.name}.{i}.{c.key}"}) for c in f.columns]
            if not any(form.get(c.name, "").strip() for c in cells):
                continue  # a blank row is no row
            rows.append(to_body(cells, form))
        return rows if rows or f.required else _ABSENT
    if f.kind == "checks":
        return {choice: form.get(f"{f.name}.{choice}") == "on" for choice in f.choices}
    if f.kind == "checkbox":
        return form.get(f.name) == "on"
    if f.kind == "lines":
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        return lines if lines else _ABSENT
    if not raw:
        return _ABSENT if not f.required else ""
    if f.kind == "number":
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def _changed(f: Field, form: Mapping[str, str]) -> bool:
    """Whether an input holds something other than its default."""
    if f.kind == "group":
        return any(_changed(g, form) for g in f.group)
    if f.kind == "checkbox":
        return (form.get(f.name) == "on") != bool(f.default)
    raw = form.get(f.name, "").strip()
    return bool(raw) and raw != str(f.default)


def error_places(details: Any) -> dict[str, str]:
    """The API's 422 details as {form field name: message}."""
    places: dict[str, str] = {}
    if isinstance(details, list):
        for item in details:
            loc = [str(p) for p in item.get("loc", ()) if str(p) != "body"]
            if loc:
                places.setdefault(".".join(loc), str(item.get("msg", "")))
    return places
