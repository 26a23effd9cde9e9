"""Properties of the reports, complaints, statements, shipments and archive
read models under random command sequences: fed incrementally in small
pages, interrupted and resumed, or rebuilt blue/green from zero, each view
equals an in-memory fold of the same events — and agrees with the
aggregates it summarises."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from projection_driver import Driver

from ledger.aggregates import rules
from ledger.aggregates.order import Order
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.persistence.personal import open_sealed
from ledger.projections.archive import ARCHIVE
from ledger.projections.complaints import COMPLAINTS
from ledger.projections.framework import ReadModel, Source, catch_up, fold_events, records_of
from ledger.projections.reports import REPORTS
from ledger.projections.runner import open_view, rebuild
from ledger.projections.shipments import SHIPMENTS, as_state, checklist
from ledger.projections.statements import STATEMENTS, due_date
from ledger.settings import Settings

MODELS: tuple[ReadModel[Any], ...] = (REPORTS, COMPLAINTS, STATEMENTS, SHIPMENTS, ARCHIVE)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

steps = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), min_size=20, max_size=70)


def stored(view: Any) -> dict[str, str]:
    return records_of(view.model, {row.order_id: row for row in view.select()})


def folded(app: Ledger, model: ReadModel[Any]) -> dict[str, str]:
    """The fold of the events as the projections decode them (personal texts sealed)."""
    notes = app.recorder.select_notifications(1, 10**6, topics=model.topics)
    decode = Source.of(app).decode
    return records_of(model, fold_events(model, (decode(n) for n in notes)))


def opened(app: Ledger, value: Any) -> Any:
    """A read model's sealed personal text as the API answers it."""
    return open_sealed(value, app.personal_keys)


def check_views_agree(app: Ledger, driven: dict[str, Any], cut: int) -> None:
    source = Source.of(app)
    for model in MODELS:
        expected = folded(app, model)
        live = driven[model.name]
        catch_up(live, source, page=3)
        assert stored(live) == expected, f"{model.name}: incremental != fold"
        resumed = open_view(app, model, f"view_{model.name}_resumed")
        catch_up(resumed, source, page=4, until=min(cut, source.head()))
        catch_up(resumed, source, page=4)
        assert stored(resumed) == expected, f"{model.name}: resumed != fold"
        rebuild(live, source, page=5)
        assert stored(live) == expected, f"{model.name}: rebuilt != fold"
        assert live.max_tracking_id(source.name) == source.head()


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def check_report_row(app: Ledger, row: Any, order: Order) -> None:
    assert row.reached == {s: at.isoformat() for s, at in order.stage_reached.items()}
    assert row.facts.total == order.total and row.facts.stage == order.stage


def expected_due(order: Order) -> date | None:
    if order.outstanding <= 0 or order.payment_terms is None:
        return None
    covered = order.credited_amount + order.paid_amount
    for invoice in sorted(order.invoices.values(), key=lambda i: i.issued_on):
        covered -= invoice.amount
        if covered < 0:
            return invoice.issued_on + timedelta(days=order.payment_terms.due_days)
    return None


def check_statement_row(app: Ledger, row: Any, order: Order) -> None:
    assert Decimal(row.total) == order.total
    assert row.invoiced == order.invoiced_amount
    assert Decimal(row.credited) == order.credited_amount
    assert Decimal(row.paid) == order.paid_amount
    assert row.outstanding == order.outstanding
    assert row.status == order.status
    assert due_date(row) == expected_due(order)


def check_complaints_row(app: Ledger, row: Any, order: Order) -> None:
    complaints = {k[10:]: e for k, e in row.entries.items() if k.startswith("complaint/")}
    issues = {k[8:]: e for k, e in row.entries.items() if k.startswith("quality/")}
    assert set(complaints) == set(order.complaints)
    assert set(issues) == set(order.quality_issues)
    for ref, c in order.complaints.items():
        entry = complaints[ref]
        resolution = opened(app, entry.resolution)
        assert (entry.status, resolution, entry.cost) == (c.status, c.resolution, None)
        assert opened(app, entry.description) == c.description
        assert (entry.filed_at, entry.resolved_at) == (_iso(c.filed_at), _iso(c.resolved_at))
    for ref, q in order.quality_issues.items():
        entry = issues[ref]
        cost = str(q.amount) if q.status == "resolved" else None
        assert (entry.status, entry.severity, entry.cost) == (q.status, q.severity, cost)
        assert (opened(app, entry.description), entry.resolution) == (q.description, q.resolution)
        assert (entry.filed_at, entry.resolved_at) == (_iso(q.raised_at), _iso(q.resolved_at))


def check_shipments_row(app: Ledger, row: Any, order: Order) -> None:
    assert set(row.shipments) == set(order.shipments)
    for sid, truth in order.shipments.items():
        s = row.shipments[sid]
        assert (s.status, s.transit_status, opened(app, s.location)) == (
            truth.status, truth.transit_status, truth.location,
        )  # fmt: skip
        assert (s.carrier, s.mode, s.export, s.planned_date, s.lines) == (
            truth.carrier, truth.mode, truth.export, truth.planned_date.isoformat(), truth.lines,
        )  # fmt: skip
        assert s.has_exception == truth.has_exception
        assert {
            k: (d.number, d.status, opened(app, d.discrepancy)) for k, d in s.documents.items()
        } == {k: (d.number, d.status, d.discrepancy) for k, d in truth.documents.items()}
        missing = [d["kind"] for d in checklist(sid, s) if d["required"] and not d["ready"]]
        assert missing == rules.missing_documents(truth)
        assert rules.missing_documents(as_state(sid, s)) == missing


def check_archive_row(app: Ledger, row: Any, order: Order) -> None:
    assert (row.archived_at is not None) == (order.status == "archived")
    assert row.archive_ref == order.archive_ref and Decimal(row.total) == order.total


CHECKS = {
    "reports": check_report_row,
    "statements": check_statement_row,
    "complaints": check_complaints_row,
    "shipments": check_shipments_row,
    "archive": check_archive_row,
}


def check_agrees_with_aggregates(app: Ledger, driver: Driver, driven: dict[str, Any]) -> None:
    rows = {name: {r.order_id: r for r in view.select()} for name, view in driven.items()}
    for order_id in driver.orders:
        order = app.get_order(order_id)
        for name, check in CHECKS.items():
            check(app, rows[name][str(order_id)], order)


def run_property(url: str, script: list[tuple[int, int]], cut: int, seed: int) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=url, pool_size=2), clock)
    try:
        driver = Driver(app, clock, seed)
        driven = {m.name: open_view(app, m) for m in MODELS}
        source = Source.of(app)
        for i, (pick, choice) in enumerate(script):
            driver.step(pick, choice)
            if i % 9 == 4:
                for view in driven.values():
                    catch_up(view, source, page=3)
                check_agrees_with_aggregates(app, driver, driven)
        check_views_agree(app, driven, cut)
        check_agrees_with_aggregates(app, driver, driven)
    finally:
        app.close()


@given(script=steps, cut=st.integers(0, 400), seed=st.integers(0, 2**16))
def test_memory_follow_up_views_equal_a_fold_of_their_events(
    script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    run_property("memory://", script, cut, seed)


@pytest.fixture(scope="module")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("followup_views")


_runs = iter(range(10**9))


@given(script=steps, cut=st.integers(0, 400), seed=st.integers(0, 2**16))
def test_sqlite_follow_up_views_equal_a_fold_of_their_events(
    sqlite_dir: Path, script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    path = sqlite_dir / f"run{next(_runs)}.db"
    run_property(f"sqlite:///{quote(str(path))}", script, cut, seed)


def test_every_backend_agrees_on_a_long_fixed_script(database_url: str) -> None:
    script = [((i * 37) % 100, (i * 61) % 100) for i in range(120)]
    run_property(database_url, script, cut=150, seed=7)
