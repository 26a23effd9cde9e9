"""Stages and statuses have one source (``aggregates.stages``) that every
layer uses; the stage is derived by one pure function for the aggregate and
the read models alike."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from decimal import Decimal

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.stages import (
    CLOSED,
    FINAL,
    FINISHED,
    SIDE_STAGES,
    STAGES,
    WITHDRAWN,
    Stage,
    Status,
    Units,
    stage,
)
from ledger.api.routes.board import Stage as BoardStageParameter
from ledger.projections.board import COLUMNS
from ledger.projections.facts import fold_facts
from strategies import confirmed, delivered


def test_the_stages_are_the_lifecycle_and_the_side_stages_once_each() -> None:
    assert (*STAGES, *SIDE_STAGES) == tuple(Stage)
    assert set(Status) <= {s.value for s in Stage}
    assert CLOSED < FINISHED < FINAL <= set(Status)
    assert WITHDRAWN < FINAL


def test_the_board_parameter_names_exactly_the_board_columns() -> None:
    assert typing.get_args(BoardStageParameter) == COLUMNS


class _Bare:
    """The least that answers the ``Progress`` questions."""

    def __init__(self, status: str, on_hold: bool = False, units: Units = Units(0, 0, 0, 0)):
        self.status, self.on_hold, self._units = status, on_hold, units
        self.production_completed = False
        self.net_invoiced = Decimal(0)

    def units(self) -> Units:
        return self._units

    def any_packed(self) -> bool:
        return False

    def production_started(self) -> bool:
        return False


def test_a_final_status_is_the_stage_even_on_hold_and_a_hold_hides_progress() -> None:
    for status in FINAL:
        assert stage(_Bare(status, on_hold=True)) == status
    assert stage(_Bare(Status.CONFIRMED, on_hold=True)) is Stage.ON_HOLD
    assert stage(_Bare(Status.CONFIRMED, units=Units(5, 0, 2, 0))) is Stage.SHIPPED
    assert stage(_Bare(Status.CONFIRMED, units=Units(5, 5, 5, 0))) is Stage.DELIVERED
    assert stage(_Bare(Status.CONFIRMED, units=Units(5, 0, 0, 5))) is Stage.READY_TO_SHIP


def test_the_aggregate_and_its_facts_answer_with_the_same_function() -> None:
    with stamped(Stamp(datetime(2026, 1, 5, tzinfo=UTC), {})):
        order = confirmed()
        delivered(order, "S-1")
    facts = None
    for event in list(order.pending_events):
        facts = fold_facts(facts, event)
    assert facts is not None
    assert order.stage is facts.stage is Stage.DELIVERED
    assert order.units() == facts.units()
