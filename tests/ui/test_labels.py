"""Every value, field, event, action and refusal the pages show has a label in
both languages; times are shown in the configured zone; count axes are whole."""

from __future__ import annotations

import ast
import inspect
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import ledger
from ledger.aggregates import backlog, values
from ledger.aggregates.order import Order
from ledger.aggregates.stages import SIDE_STAGES, STAGES
from ledger.api import commands
from ledger.api.app import create_app
from ledger.api.ui.actions import ACTIONS, RECEIVE_FIELDS, action_path
from ledger.api.ui.charts import Series, grouped_bars, integer_axis, short
from ledger.api.ui.forms import Field
from ledger.api.ui.i18n import _EVENTS, _LABELS
from ledger.api.ui.i18n_values import FIELDS, GUARDS_ZH, VALUES
from ledger.api.ui.zone import display_zone, local_time
from ledger.audit.replay import FACET_KEYS
from ledger.settings import Settings

CHINESE = re.compile(r"[\u4e00-\u9fff]")
CHOICES = (
    values.CHANNELS, values.TRANSPORT_MODES, values.SEVERITIES, values.RESOLUTIONS,
    values.TRANSIT_STATUSES, values.DOCUMENT_KINDS, values.DOCUMENT_STATUSES,
    values.PAYMENT_METHODS, backlog.CAUSES, backlog.ACTIONS,
    ("planned", "packed", "dispatched", "delivered", "open", "closed",
     "resolved", "customer", "product", "delivery"),
)  # fmt: skip
EVENT_META = {"originator_id", "originator_version", "timestamp", "meta", "topic",
              "originator_topic", "originator_id_type", "state"}  # fmt: skip


def _events() -> list[type]:
    return [c for _, c in inspect.getmembers(Order, inspect.isclass)
            if c.__qualname__.startswith("Order.") and hasattr(c, "__annotations__")
            and c.__name__[0].isupper() and c.__name__ not in ("Event", "Created")]  # fmt: skip


def _zh(pair: tuple[str, str]) -> bool:
    return bool(pair[0]) and bool(CHINESE.search(pair[1]) or pair[1].isupper())


def test_every_domain_value_and_stage_has_a_label_in_both_languages() -> None:
    for choice in (value for group in CHOICES for value in group):
        assert choice in VALUES and _zh(VALUES[choice]), choice
    for stage in (*STAGES, *SIDE_STAGES):
        assert _zh(_LABELS[f"stage.{stage}"]), stage


def test_every_event_and_every_field_an_event_or_a_facet_carries_has_a_label() -> None:
    events = _events()
    assert len(events) >= 35
    for event in events:
        assert event.__name__ in _EVENTS and _zh(_EVENTS[event.__name__]), event.__name__
        names: set[str] = set()
        for klass in event.__mro__:
            names |= set(getattr(klass, "__annotations__", {}))
        for name in names - EVENT_META:
            assert name in FIELDS and _zh(FIELDS[name]), (event.__name__, name)
    facet_keys = {*FACET_KEYS, "open_quality_issues", "open_complaints", "ordered", "allocated",
                  "planned", "shipped", "delivered", "short_closed", "open", "total", "invoiced",
                  "credited", "net_invoiced", "paid", "outstanding", "invoiceable",
                  "shipped_ratio", "delivered_ratio", "invoiced_ratio", "paid_ratio"}  # fmt: skip
    assert facet_keys <= set(FIELDS)


def _inputs(fields: list[Field]) -> list[Field]:
    found = []
    for f in fields:
        found.append(f)
        found.extend(_inputs(f.group) + _inputs(f.columns))
    return found


def test_every_action_and_every_field_of_its_form_has_a_label() -> None:
    for action in ACTIONS:
        assert _zh((action.label("en"), action.label("zh"))), action.name
        if action.subjects is not None:
            assert _zh(_LABELS[f"actions.subject.{action.name}"]), action.name
        for f in _inputs(action.fields):
            assert f.key in FIELDS and _zh(FIELDS[f.key]), (action.name, f.key)
            for choice in f.choices:
                assert choice in VALUES, (action.name, choice)
    assert {f.key for f in _inputs(RECEIVE_FIELDS)} <= set(FIELDS)


def test_every_refusal_of_a_guard_has_a_chinese_message() -> None:
    codes = set()
    for path in Path(ledger.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or getattr(node.func, "id", "") != "DomainError":
                continue
            if node.args and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)
    assert len(codes) > 60
    assert codes - set(GUARDS_ZH) == set()
    assert all(CHINESE.search(message) for message in GUARDS_ZH.values())


def test_times_are_shown_in_the_configured_zone_with_the_zone_named() -> None:
    moment = datetime(2026, 7, 25, 6, 43, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("Asia/Shanghai")) == "2026-07-25 14:43 UTC+8"
    assert (
        local_time("2026-07-25T06:43:00", ZoneInfo("Asia/Kolkata")) == "2026-07-25 12:13 UTC+5:30"
    )
    assert local_time(moment.isoformat(), ZoneInfo("America/Sao_Paulo")).endswith("03:43 UTC-3")
    assert local_time(moment, UTC) == "2026-07-25 06:43 UTC"
    assert display_zone("Asia/Shanghai") == ZoneInfo("Asia/Shanghai")
    with pytest.raises(ValidationError, match="IANA"):
        Settings(timezone="Mars/Olympus_Mons")


def test_an_order_page_shows_its_times_in_ledger_timezone(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'tz.db'}", timezone="Asia/Shanghai",
        tokens={"t": {"role": "merchandiser", "name": "王芳"}}, run_projections=False,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        body = {"channel": "wechat", "customer": {"name": "客户"}, "delivery": {
            "address": "上海", "consignee": "王"}, "lines": [
            {"sku": "A", "name": "杯", "quantity": 1, "unit_price": "1"}]}  # fmt: skip
        made = client.post("/orders", json=body, headers={"Authorization": "Bearer t"})
        recorded = datetime.fromisoformat(made.json()["created_at"])
        page = client.get(f"/ui/orders/{made.json()['id']}", cookies={"ledger_token": "t"})
        assert page.status_code == 200
        assert local_time(recorded, ZoneInfo("Asia/Shanghai")) in page.text
        assert "UTC+8" in page.text
        assert client.get("/", headers={"Accept": "text/html"}, follow_redirects=False
                          ).headers["location"] == "/ui/board"  # fmt: skip
        api = client.get("/", headers={"Accept": "application/json"})
        assert (api.status_code, api.json()["code"]) == (404, "not_found")


@given(st.integers(0, 10**7), st.integers(2, 6))
def test_a_count_axis_has_whole_ticks_and_reaches_the_largest_count(top: int, ticks: int) -> None:
    highest, steps = integer_axis(top, ticks)
    assert highest >= top and highest == int(highest) and steps <= max(ticks, 1) + 1
    chart = grouped_bars(["a", "b"], [Series("n", [float(top), 0.0], "s1")], ticks, counts=True)
    labels = [label for _, label in chart.ticks]
    assert all(re.fullmatch(r"\d+(\.\d+)?[kMBT]?", label) for label in labels)
    step = highest / steps
    assert step == int(step) and step >= 1


def test_money_at_the_amount_bound_keeps_short_axis_labels() -> None:
    chart = grouped_bars(["1月"], [Series("2026", [9_999_999_999_999.99], "s1")])
    assert [label for _, label in chart.ticks] == ["0", "2.5T", "5T", "7.5T", "10T"]
    assert short(10**13) == "10T"


def test_the_actions_are_the_command_declarations_and_name_their_ids() -> None:
    """Each action is a declared command (its path, permission, roles, body and
    labels are the declaration's); one with ids after the order's in its path
    picks them from the order's subjects; a command the pages leave out is
    left out on purpose."""
    for action in ACTIONS:
        declared = commands.BY_NAME[action.name]
        assert (action.path, action.permission, action.roles, action.body) == (
            declared.path, declared.permission, declared.roles, declared.body)  # fmt: skip
        assert action.label("zh") == declared.labels["zh"], action.name
        assert declared.path.startswith("/orders/{order_id}/"), action.name
        assert bool(declared.ids) == (action.subjects is not None), action.name
        subject = "|".join(f"s{i}" for i in range(len(declared.ids)))
        path = action_path("o-1", action, subject)
        expected = re.sub(r"\{\w+\}", "{}", declared.path).format("o-1", *subject.split("|"))
        assert path == expected, action.name
    # Orders made or joined have their own pages or stay in the API; the backlog
    # review and a link's revocation are API commands for now (docs/ui.md).
    api_only = {"receive", "merge", "split", "review_backlog", "revoke_tracking_link"}
    assert set(commands.BY_NAME) - {a.name for a in ACTIONS} == api_only


def test_each_form_asks_for_every_field_its_command_declares_but_business_time() -> None:
    """Only ``occurred_at`` (now, on a page) and a free mapping (invoice
    details) are left to the API; everything else declared is an input."""
    for action in ACTIONS:
        declared = [f.name for f in action.command.fields() if f.source == "body"
                    and f.name != "occurred_at" and (f.kind != "mapping" or f.choices)]  # fmt: skip
        assert [f.key for f in action.fields] == declared, action.name
    assert all(commands.BY_NAME[a.name].roles for a in ACTIONS)
