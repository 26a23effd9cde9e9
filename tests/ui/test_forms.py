"""A form generated from a request model stands for exactly the body it was
filled with: what a page sends is what an API client would have sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregates.values import CHANNELS, TRANSPORT_MODES
from ledger.api.commands import BY_NAME
from ledger.api.schemas import ReceiveIn
from ledger.api.ui.forms import fields_of, to_body
from ledger.api.ui.workspace import compact_rows

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
               min_size=1, max_size=30)  # fmt: skip
LINE = st.fixed_dictionaries({
    "sku": st.from_regex(r"[A-Z]{1,3}-[0-9]{1,4}", fullmatch=True), "name": TEXT,
    "quantity": st.integers(1, 10**6),
    "unit_price": st.decimals(Decimal("0.0001"), Decimal("99999"), places=4),
})  # fmt: skip


@st.composite
def receipts(draw: st.DrawFn) -> dict[str, Any]:
    lines = draw(st.lists(LINE, min_size=1, max_size=5, unique_by=lambda line: line["sku"]))
    body: dict[str, Any] = {
        "channel": draw(st.sampled_from(CHANNELS)),
        "customer": {"name": draw(TEXT), "phone": draw(st.sampled_from(["", "13800138000"]))},
        "delivery": {"address": draw(TEXT), "consignee": draw(TEXT),
                     "transport_mode": draw(st.sampled_from(TRANSPORT_MODES))},
        "lines": [{**line, "unit_price": str(line["unit_price"])} for line in lines],
    }  # fmt: skip
    if draw(st.booleans()):
        body["requested_date"] = "2026-12-24"
    return body


def as_form(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The inputs a person fills in for ``body``: names as the page writes them."""
    form: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, dict):
            form |= as_form(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            for i, row in enumerate(value):
                form |= as_form(row, f"{prefix}{key}.{i}.")
        else:
            form[f"{prefix}{key}"] = str(value)
    return form


@given(receipts(), st.integers(0, 3))
def test_a_filled_new_order_form_is_the_body_it_was_filled_with(
    body: dict[str, Any], blank_rows: int
) -> None:
    form = as_form(body)
    for i in range(len(body["lines"]), len(body["lines"]) + blank_rows):
        form |= {f"lines.{i}.sku": "", f"lines.{i}.name": " "}  # blank rows are no rows
    sent = to_body(fields_of(BY_NAME["receive"]), form)
    assert ReceiveIn.model_validate(sent) == ReceiveIn.model_validate(body)
    kept = compact_rows(fields_of(BY_NAME["receive"]), form)
    assert {k: v for k, v in kept.items() if v} == {k: v for k, v in as_form(body).items() if v}


@given(receipts(), st.data())
def test_a_removed_row_is_not_sent(body: dict[str, Any], data: st.DataObject) -> None:
    gone = data.draw(st.integers(0, len(body["lines"]) - 1))
    form = as_form(body) | {f"lines.{gone}._remove": "on"}
    sent = to_body(fields_of(BY_NAME["receive"]), form)
    assert [line["sku"] for line in sent["lines"]] == [
        line["sku"] for i, line in enumerate(body["lines"]) if i != gone
    ]


def test_an_optional_group_left_at_its_defaults_is_left_to_the_api() -> None:
    fields = fields_of(BY_NAME["confirm"])
    terms = {"method": "bank_transfer", "due_days": "30", "prepayment_percent": "0"}
    untouched = {"promised_date": "2026-12-20"} | {
        f"payment_terms.{k}": v for k, v in terms.items()
    }
    assert to_body(fields, untouched) == {"promised_date": "2026-12-20"}
    changed = untouched | {"payment_terms.due_days": "60"}
    assert to_body(fields, changed)["payment_terms"] == {
        "method": "bank_transfer", "due_days": 60, "prepayment_percent": "0"}  # fmt: skip
