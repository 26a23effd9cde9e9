"""Every ``Order`` event is declared everywhere it must be, found from the
class itself: a step or an explicit no-op in the read models' facts, a label
in both languages, and a personal-data declaration of its texts. Adding an
event and forgetting one of these fails here (and the facts refuse to import)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.utils import get_topic

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.order import EVENTS, Order
from ledger.api.ui.i18n import event_label
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.facts import STEPS, fold_facts
from ledger.projections.steps import RECEIVED, Steps
from privacy_support import event_classes, faults_of
from strategies import confirmed, ready_shipment

NAMES = [cls.__name__ for cls in EVENTS]


def test_the_events_are_the_order_s_every_event() -> None:
    assert set(EVENTS) == set(event_classes())
    assert len(EVENTS) >= 30
    assert RECEIVED in EVENTS


@pytest.mark.parametrize("cls", EVENTS, ids=NAMES)
def test_each_event_has_a_fact_step_or_an_explicit_no_op(cls: type) -> None:
    accounted = [
        cls is RECEIVED,
        cls in STEPS.by_class,
        cls in STEPS.unchanged,
        cls in STEPS.ignored,
    ]
    assert accounted.count(True) == 1, f"{cls.__name__}: {accounted}"


@pytest.mark.parametrize("cls", EVENTS, ids=NAMES)
def test_each_event_has_a_label_in_both_languages(cls: type) -> None:
    english, chinese = event_label(cls.__name__, "en"), event_label(cls.__name__, "zh")
    assert english != cls.__name__ and english.strip()
    assert chinese != cls.__name__ and chinese != english and chinese.strip()


@pytest.mark.parametrize("cls", EVENTS, ids=NAMES)
def test_each_event_declares_its_texts_personal_or_public(cls: type) -> None:
    assert faults_of(cls) == []


def test_the_backlog_follows_every_event_the_facts_do_and_the_board_the_changing_ones() -> None:
    followed = {get_topic(cls) for cls in EVENTS if cls not in STEPS.ignored}
    assert set(BACKLOG.topics) == followed
    changing = {get_topic(cls) for cls in (RECEIVED, *STEPS.by_class)}
    assert set(BOARD.topics) == changing


def test_an_event_left_unaccounted_for_is_refused_by_name() -> None:
    steps = Steps[int]().on(Order.OrderVerified, lambda row, e: row + 1)
    steps.unchanging(Order.DocumentIssued)
    with pytest.raises(TypeError, match="OrderSettled"):
        steps.covering([Order.OrderVerified, Order.DocumentIssued, Order.OrderSettled])
    assert steps.missing([Order.OrderVerified, Order.DocumentIssued, RECEIVED]) == []
    with pytest.raises(ValueError, match="two steps for OrderVerified"):
        steps.on(Order.OrderVerified, lambda row, e: row)


def test_an_unchanging_event_still_stamps_the_facts_so_the_order_is_not_quiet() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with stamped(Stamp(start, {})):
        order = confirmed()
        ready_shipment(order, "S-1")
    later = start + timedelta(days=40)
    with stamped(Stamp(later, {})):
        order.change_document_status(shipment_id="S-1", kind="waybill", status="cleared")
    events = order.collect_events()
    assert type(events[-1]) in STEPS.unchanged
    facts = None
    for event in events:
        facts = fold_facts(facts, event)
    assert facts is not None
    assert facts.last_event_at == later.isoformat()
    assert facts.version == len(events)
