"""Plain HTML forms generated from the API's request models, and back.

A form field per field of a command's pydantic body (``ledger.api.schemas``):
its input type, limits and choices come from the model's own annotations,
so a page asks for exactly what the API accepts. A submitted form becomes
the JSON body the API takes (``to_body``); the API validates it, so a page
refuses exactly what the API refuses, with the same messages.

Names are paths: ``delivery.address``, ``lines.0.sku``; a list of models is
a table of rows, each row a numbered group.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

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


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None`` and ``Annotated``; whether it was optional."""
    optional = False
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0]
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation, optional


def _limits(metadata: list[Any], annotation: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    items = list(metadata)
    raw = annotation
    if get_origin(raw) in (Union, types.UnionType):
        raw = next(a for a in get_args(raw) if a is not type(None))
    if get_origin(raw) is typing.Annotated:
        items.extend(get_args(raw)[1:])
    for item in items:
        for name in ("max_length", "min_length", "pattern", "ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
        places = getattr(item, "decimal_places", None)
        if places is not None:
            found["decimal_places"] = places
        for sub in getattr(item, "metadata", []) or []:
            for name in ("ge", "gt", "le", "lt", "decimal_places"):
                value = getattr(sub, name, None)
                if value is not None:
                    found[name] = value
    return found


def fields_of(model: type[BaseModel], prefix: str = "") -> list[Field]:
    """The inputs of ``model``, in the order it declares its fields."""
    result = []
    for key, info in model.model_fields.items():
        if key in HIDDEN:
            continue
        name = f"{prefix}{key}"
        annotation, optional = _unwrap(info.annotation)
        required = info.is_required()
        default = "" if info.is_required() or info.default is None else info.default
        if not isinstance(default, str | int | Decimal | bool):
            default = ""
        limits = _limits(info.metadata, info.annotation)
        made = Field(name, key, "text", required, default)
        origin = get_origin(annotation)
        if origin is Literal:
            made.kind, made.choices = "select", tuple(str(a) for a in get_args(annotation))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            made.kind, made.group = "group", fields_of(annotation, f"{name}.")
        elif origin is list:
            inner, _ = _unwrap(get_args(annotation)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                made.kind, made.columns = "rows", fields_of(inner)
            else:
                made.kind = "lines"
            made.maximum = limits.get("max_length")
            made.minimum = limits.get("min_length")
        elif origin is dict:
            keys, _ = _unwrap(get_args(annotation)[0])
            if get_origin(keys) is Literal:
                made.kind, made.choices = "checks", tuple(str(a) for a in get_args(keys))
            else:
                continue  # a free mapping (invoice_info): left to the API
        elif annotation is bool:
            made.kind = "checkbox"
        elif annotation is int:
            made.kind, made.step = "number", "1"
            made.minimum = limits.get("ge", limits["gt"] + 1 if "gt" in limits else None)
            made.maximum = limits.get("le", limits["lt"] - 1 if "lt" in limits else None)
        elif annotation is Decimal:
            places = limits.get("decimal_places", 4)
            made.kind, made.step = "decimal", f"{Decimal(1).scaleb(-places):f}"
            made.minimum = limits.get("ge", limits.get("gt"))
            made.maximum = limits.get("le", limits.get("lt"))
        elif annotation is date:
            made.kind = "date"
        elif annotation is datetime:
            continue
        else:
            made.max_length = limits.get("max_length")
            made.pattern = limits.get("pattern")
            if made.max_length is not None and made.max_length > LONG:
                made.kind = "textarea"
        if optional:
            made.required = False
        result.append(made)
    return result


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
