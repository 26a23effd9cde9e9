"""The ledger application on every store: what a command writes, what it
refuses, and what a reader sees afterwards (now, at a version, at a moment)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, cast
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.readout import describe
from ledger.aggregates.values import PaymentTerms, PurchaseItem, SkuQty
from ledger.application import (
    Ctx,
    IdempotencyKeyReused,
    Ledger,
    LedgerError,
    OrderNotFound,
    Result,
    StaleVersion,
    order_id_for,
)
from ledger.clock import SimulatedClock
from ledger.settings import Settings
from strategies import (
    ALL_CHECKS_PASS,
    CUSTOMER,
    DELIVERY,
    OTHER_CUSTOMER,
    PROMISED,
    STANDARD_LINES,
    lines_of,
)

D = Decimal
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NUMBER = re.compile(r"^SO-(\d{4})-(\d{6})$")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START, tick=timedelta(seconds=1))


@pytest.fixture
def ledger(ledger_settings: Settings, clock: SimulatedClock) -> Iterator[Ledger]:
    app = Ledger(ledger_settings, clock)
    yield app
    app.close()


def receive(ledger: Ledger, ctx: Ctx | None = None, **kw: Any) -> Result:
    args: dict[str, Any] = {
        "channel": "phone",
        "customer": CUSTOMER,
        "lines": lines_of(*STANDARD_LINES),
        "delivery": DELIVERY,
    }
    args.update(kw)
    return ledger.receive(ctx or Ctx(actor="sales"), **args)


def confirmed(ledger: Ledger, **kw: Any) -> UUID:
    order_id = receive(ledger, **kw).order.id
    ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS))
    ledger.confirm(
        Ctx(), order_id, promised_date=PROMISED, payment_terms=PaymentTerms(prepayment_percent=D(0))
    )
    return order_id


def count_events(ledger: Ledger, order_id: UUID) -> int:
    return len(ledger.history(order_id))


def full_replay(ledger: Ledger, order_id: UUID) -> Order:
    """Fold every stored event, ignoring snapshots and the cache."""
    order: Any = None
    event: Any
    for event in ledger.events.get(order_id):
        order = event.mutate(order)
    assert order is not None
    return cast(Order, order)


# -- the whole story with its metadata --------------------------------------------------------


def test_follows_an_order_from_receipt_to_archive_with_who_when_and_why(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    taken = datetime(2026, 1, 4, 17, 30, tzinfo=UTC)
    first = receive(
        ledger,
        Ctx(actor="sales-王", correlation_id="call-1", reason="电话下单", occurred_at=taken),
        channel="phone",
    )
    order_id = first.order.id
    n = 0

    def ctx(actor: str, reason: str = "") -> Ctx:
        nonlocal n
        n += 1
        return Ctx(
            actor=actor,
            correlation_id="story-1",
            causation_id=f"cmd-{n}",
            reason=reason,
            idempotency_key=f"story-1-{n}",
        )

    steps: list[Callable[[Ctx], Result]] = [
        lambda c: ledger.verify(c, order_id, checks=dict(ALL_CHECKS_PASS)),
        lambda c: ledger.confirm(
            c,
            order_id,
            promised_date=PROMISED,
            payment_terms=PaymentTerms("bank_transfer", 30, D(20)),
            invoice_info={"title": "某某公司"},
        ),
        lambda c: ledger.promise_date(c, order_id, promised_date=date(2026, 3, 9), reason="排产"),
        lambda c: ledger.allocate_stock(c, order_id, sku="C", quantity=6, warehouse="上海仓"),
        lambda c: ledger.order_purchase(
            c, order_id, po_number="PO-1", supplier="宁波厂", items=_items()
        ),
        lambda c: ledger.receive_purchase(c, order_id, po_number="PO-1", accepted=4),
        lambda c: ledger.progress_production(c, order_id, stage="组装", percent=40),
        lambda c: ledger.raise_quality_issue(
            c, order_id, issue_id="Q1", severity="minor", category="外观", description="划痕"
        ),
        lambda c: ledger.resolve_quality_issue(c, order_id, issue_id="Q1", resolution="repair"),
        lambda c: ledger.complete_production(c, order_id),
        lambda c: ledger.invoice(
            c, order_id, invoice_number="INV-0", amount=D("14.50"), issued_on=PROMISED
        ),
        lambda c: ledger.schedule_shipment(
            c,
            order_id,
            shipment_id="S1",
            planned_date=PROMISED,
            lines=[SkuQty("A", 10), SkuQty("B", 4), SkuQty("C", 6)],
            carrier="顺丰",
            mode="sea",
            export=True,
        ),
        lambda c: ledger.reschedule_shipment(
            c, order_id, shipment_id="S1", planned_date=date(2026, 3, 2), reason="船期"
        ),
        lambda c: ledger.pack(c, order_id, shipment_id="S1", packages=2, labels=["SO"]),
        *[
            partial(_issue_submitted, ledger, order_id, kind)
            for kind in ("dispatch_note", "bill_of_lading", "customs_declaration")
        ],
        lambda c: ledger.change_document_status(
            c, order_id, shipment_id="S1", kind="bill_of_lading", status="cleared"
        ),
        lambda c: ledger.dispatch(c, order_id, shipment_id="S1", tracking_number="COSCO-1"),
        lambda c: ledger.update_transit(
            c, order_id, shipment_id="S1", status="delayed", location="宁波港"
        ),
        lambda c: ledger.deliver(c, order_id, shipment_id="S1", received_by="李四"),
        lambda c: ledger.invoice(
            c, order_id, invoice_number="INV-1", amount=D("58.00"), issued_on=PROMISED
        ),
        lambda c: ledger.file_complaint(
            c, order_id, complaint_id="C1", channel="email", category="包装", description="破损"
        ),
        lambda c: ledger.issue_credit_note(
            c, order_id, credit_note_number="CN-1", amount=D("2.50"), reason="补偿"
        ),
        lambda c: ledger.resolve_complaint(c, order_id, complaint_id="C1", resolution="补偿"),
        lambda c: ledger.receive_payment(
            c, order_id, reference="BANK-1", amount=D("70.00"), received_on=PROMISED
        ),
        lambda c: ledger.hold(c, order_id, reason="核对账目"),
        lambda c: ledger.release(c, order_id, reason="已核对"),
        lambda c: ledger.settle(c, order_id),
        lambda c: ledger.archive(c, order_id, archive_ref="ARC-2026-01"),
    ]
    seen: dict[int, dict[str, Any]] = {first.version: describe(first.order)}
    for step in steps:
        result = step(ctx("跟单员-李", reason=f"step {n + 1}"))
        assert result.version == first.version + n
        assert not result.replayed
        seen[result.version] = describe(result.order)

    order = ledger.get_order(order_id)
    assert order.stage == "archived"
    assert order.version == len(steps) + 1
    assert describe(order) == seen[order.version]
    assert describe(full_replay(ledger, order_id)) == describe(order)
    assert ledger.find_by_number(first.order.number).id == order_id

    history = ledger.history(order_id)
    assert [h.version for h in history] == list(range(1, len(steps) + 2))
    assert history[0].type == "OrderReceived"
    assert history[-2:][0].type == "OrderSettled" and history[-1].type == "OrderArchived"
    assert history[0].meta["actor"] == "sales-王"
    assert history[0].meta["correlation_id"] == "call-1"
    assert history[0].meta["reason"] == "电话下单"
    assert history[0].meta["occurred_at"] == taken.isoformat()
    assert history[0].payload["channel"] == "phone"
    for i, entry in enumerate(history[1:], start=1):
        assert entry.meta["actor"] == "跟单员-李"
        assert entry.meta["correlation_id"] == "story-1"
        assert entry.meta["causation_id"] == f"cmd-{i}"
        assert entry.meta["reason"] == f"step {i}"
    recorded = [h.recorded_at for h in history]
    assert recorded == sorted(recorded) and len(set(recorded)) == len(recorded)
    assert START < recorded[0] < clock.now()
    # every version read back equals what the command returned at that step
    for version, readout in seen.items():
        assert describe(ledger.get_order(order_id, version=version)) == readout


def _issue_submitted(ledger: Ledger, order_id: UUID, kind: str, ctx: Ctx) -> Result:
    return ledger.issue_document(
        ctx, order_id, shipment_id="S1", kind=kind, number=kind, status="submitted"
    )


def _items() -> list[PurchaseItem]:
    return [PurchaseItem("电机", 4, D("12.00"))]


def test_a_missing_correlation_id_is_generated_and_shared_by_the_command(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    meta = ledger.history(order_id)[0].meta
    assert meta["correlation_id"]
    assert meta["actor"] == "sales"


# -- optimistic concurrency ----------------------------------------------------------------------


def test_a_command_on_the_version_seen_is_accepted(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    result = ledger.verify(Ctx(expected_version=1), order_id, checks=dict(ALL_CHECKS_PASS))
    assert result.version == 2


@pytest.mark.parametrize("expected", [0, 1, 3, 99])
def test_a_stale_expected_version_is_refused_and_writes_nothing(
    ledger: Ledger, expected: int
) -> None:
    order_id = receive(ledger).order.id
    ledger.hold(Ctx(), order_id, reason="x")  # version 2
    before = describe(ledger.get_order(order_id))
    with pytest.raises(StaleVersion) as refused:
        ledger.release(Ctx(expected_version=expected), order_id, reason="y")
    assert refused.value.code == "stale_version"
    assert count_events(ledger, order_id) == 2
    assert describe(ledger.get_order(order_id)) == before


def test_a_second_ledger_on_the_same_store_sees_writes_and_refuses_stale_versions(
    ledger_settings: Settings, clock: SimulatedClock, ledger: Ledger
) -> None:
    if ledger_settings.database.backend == "memory":
        pytest.skip("an in-memory store belongs to one application")
    other = Ledger(ledger_settings, clock)
    try:
        order_id = receive(ledger).order.id
        assert other.get_order(order_id).version == 1  # cached in the other ledger now
        ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS))
        with pytest.raises(StaleVersion):
            other.hold(Ctx(expected_version=1), order_id, reason="x")
        result = other.hold(Ctx(), order_id, reason="x")  # no version: acts on the latest
        assert result.version == 3
        assert ledger.get_order(order_id).on_hold
        assert [h.type for h in ledger.history(order_id)] == [
            "OrderReceived",
            "OrderVerified",
            "OrderPutOnHold",
        ]
    finally:
        other.close()


# -- idempotency --------------------------------------------------------------------------------


def test_a_repeated_key_returns_the_first_result_and_writes_nothing(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    ctx = Ctx(actor="a", idempotency_key="verify-once")
    first = ledger.verify(ctx, order_id, checks=dict(ALL_CHECKS_PASS))
    ledger.hold(Ctx(), order_id, reason="later")
    again = ledger.verify(ctx, order_id, checks=dict(ALL_CHECKS_PASS))
    assert (again.replayed, first.replayed) == (True, False)
    assert again.version == first.version == 2
    assert describe(again.order) == describe(first.order)
    assert count_events(ledger, order_id) == 3


def test_a_repeated_receive_returns_the_same_order_and_spends_no_number(ledger: Ledger) -> None:
    ctx = Ctx(idempotency_key="web-form-42")
    first = receive(ledger, ctx)
    again = receive(ledger, ctx)
    assert again.replayed
    assert again.order.id == first.order.id and again.order.number == first.order.number
    third = receive(ledger)
    assert _sequence(third.order.number) == _sequence(first.order.number) + 1


def test_a_key_reused_for_another_command_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    other_id = receive(ledger).order.id
    ledger.hold(Ctx(idempotency_key="k1"), order_id, reason="x")
    with pytest.raises(IdempotencyKeyReused) as refused:
        ledger.hold(Ctx(idempotency_key="k1"), order_id, reason="another reason")
    assert refused.value.code == "idempotency_key_reused"
    with pytest.raises(IdempotencyKeyReused):
        ledger.release(Ctx(idempotency_key="k1"), order_id, reason="x")
    with pytest.raises(IdempotencyKeyReused):
        ledger.hold(Ctx(idempotency_key="k1"), other_id, reason="x")
    with pytest.raises(IdempotencyKeyReused):
        receive(ledger, Ctx(idempotency_key="k1"))
    assert count_events(ledger, order_id) == 2
    assert count_events(ledger, other_id) == 1


def test_a_refused_command_does_not_use_up_its_key(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    ctx = Ctx(idempotency_key="rel-1")
    with pytest.raises(DomainError):
        ledger.release(ctx, order_id, reason="x")
    with pytest.raises(DomainError):  # still refused, not replayed as a success
        ledger.release(ctx, order_id, reason="x")
    ledger.hold(Ctx(), order_id, reason="x")
    assert ledger.release(ctx, order_id, reason="x").version == 3


@pytest.mark.parametrize("expected_version", [None, 1])
def test_a_repeat_racing_the_first_attempt_still_gets_the_first_result(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, expected_version: int | None
) -> None:
    """The first attempt commits between the repeat's key check and its load
    (two API workers receiving the same retried request)."""
    order_id = receive(ledger).order.id
    ctx = Ctx(idempotency_key="retried-hold", expected_version=expected_version)
    load = ledger.get_order
    first: list[Result] = []

    def load_after_the_first_attempt_committed(oid: UUID, **kw: Any) -> Order:
        if not first:
            first.append(Result(order=load(oid)))  # placeholder: re-entry loads plainly
            first[0] = ledger.hold(ctx, order_id, reason="信用审查")
        return load(oid, **kw)

    monkeypatch.setattr(ledger, "get_order", load_after_the_first_attempt_committed)
    again = ledger.hold(ctx, order_id, reason="信用审查")
    assert again.replayed
    assert again.version == first[0].version == 2
    assert count_events(ledger, order_id) == 2


def test_a_repeated_split_and_merge_write_nothing_new(ledger: Ledger) -> None:
    order_id = receive(ledger).order.id
    parts = [[SkuQty("A", 10)], [SkuQty("B", 4), SkuQty("C", 6)]]
    first = ledger.split(Ctx(idempotency_key="split-1"), order_id, parts)
    again = ledger.split(Ctx(idempotency_key="split-1"), order_id, parts)
    assert again.replayed and again.version == first.version
    children = [c.id for c in first.others]
    merged = ledger.merge(Ctx(idempotency_key="merge-1"), children)
    repeat = ledger.merge(Ctx(idempotency_key="merge-1"), children)
    assert repeat.replayed and repeat.order.id == merged.order.id
    assert count_events(ledger, order_id) == 2
    assert [count_events(ledger, c) for c in children] == [2, 2]
    assert count_events(ledger, merged.order.id) == 1


# -- order numbers -----------------------------------------------------------------------------


def _sequence(number: str) -> int:
    match = NUMBER.match(number)
    assert match, number
    return int(match.group(2))


def test_numbers_are_unique_readable_and_increasing(ledger: Ledger) -> None:
    numbers = [receive(ledger).order.number for _ in range(12)]
    assert all(NUMBER.match(n) for n in numbers)
    assert [n[3:7] for n in numbers] == ["2026"] * 12
    sequences = [_sequence(n) for n in numbers]
    assert sequences == sorted(set(sequences))
    assert sequences[0] == 1
    for number in numbers:
        assert ledger.find_by_number(number).number == number


def test_numbers_follow_the_year_of_the_clock(ledger: Ledger, clock: SimulatedClock) -> None:
    receive(ledger)
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    assert receive(ledger).order.number == "SO-2027-000001"
    assert _sequence(receive(ledger).order.number) == 2


def test_a_refused_receipt_spends_no_number(ledger: Ledger) -> None:
    first = receive(ledger).order.number
    with pytest.raises(DomainError):
        receive(ledger, lines=[])
    assert _sequence(receive(ledger).order.number) == _sequence(first) + 1


# -- reads --------------------------------------------------------------------------------------


def test_reads_the_order_at_any_version(ledger: Ledger) -> None:
    order_id = confirmed(ledger)
    ledger.hold(Ctx(), order_id, reason="x")
    stages = [ledger.get_order(order_id, version=v).stage for v in range(1, 5)]
    assert stages == ["received", "verified", "confirmed", "on_hold"]
    with pytest.raises(OrderNotFound):
        ledger.get_order(order_id, version=5)


def test_reads_the_order_as_it_was_at_a_recorded_moment(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    order_id = receive(ledger).order.id
    clock.set(datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS))
    clock.set(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    ledger.hold(Ctx(), order_id, reason="x")

    def stage_on(moment: datetime) -> str:
        return ledger.get_order(order_id, as_of=moment).stage

    assert stage_on(datetime(2026, 6, 10, tzinfo=UTC)) == "received"
    assert stage_on(datetime(2026, 6, 30, 23, 59, tzinfo=UTC)) == "verified"
    assert stage_on(datetime(2026, 6, 30, 23, 59)) == "verified"  # naive is read as UTC
    assert stage_on(datetime(2026, 7, 2, tzinfo=UTC)) == "on_hold"
    with pytest.raises(OrderNotFound):
        stage_on(datetime(2026, 5, 31, tzinfo=UTC))
    at_version_2 = describe(ledger.get_order(order_id, version=2))
    assert describe(ledger.get_order(order_id, as_of=datetime(2026, 6, 20, tzinfo=UTC))) == (
        at_version_2
    )


def test_as_of_uses_the_recording_time_not_the_business_time(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    clock.set(datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    yesterday = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    order_id = receive(ledger, Ctx(occurred_at=yesterday)).order.id
    with pytest.raises(OrderNotFound):
        ledger.get_order(order_id, as_of=datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    assert ledger.history(order_id)[0].meta["occurred_at"] == yesterday.isoformat()


def test_an_unknown_order_is_not_found(ledger: Ledger) -> None:
    unknown = order_id_for("SO-2026-999999")
    for read in (
        lambda: ledger.get_order(unknown),
        lambda: ledger.history(unknown),
        lambda: ledger.find_by_number("SO-2026-999999"),
        lambda: ledger.hold(Ctx(), unknown, reason="x"),
    ):
        with pytest.raises(OrderNotFound) as missing:
            read()
        assert missing.value.code == "order_not_found"


# -- refusals write nothing ---------------------------------------------------------------------


def test_a_refused_command_writes_nothing(ledger: Ledger) -> None:
    order_id = confirmed(ledger)
    before = describe(ledger.get_order(order_id))
    refusals: list[tuple[str, Callable[[], object]]] = [
        (
            "cannot_allocate_more_than_open",
            lambda: ledger.allocate_stock(Ctx(), order_id, sku="A", quantity=11, warehouse="W"),
        ),
        (
            "order_not_awaiting_verification",
            lambda: ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS)),
        ),
        (
            "unknown_shipment",
            lambda: ledger.dispatch(Ctx(), order_id, shipment_id="S1", tracking_number="T"),
        ),
        (
            "cannot_invoice_more_than_allowed",
            lambda: ledger.invoice(
                Ctx(), order_id, invoice_number="I", amount=D(1), issued_on=PROMISED
            ),
        ),
        (
            "split_must_conserve_lines",
            lambda: ledger.split(Ctx(), order_id, [[SkuQty("A", 1)], [SkuQty("B", 4)]]),
        ),
        (
            "cannot_archive_unsettled_order",
            lambda: ledger.archive(Ctx(), order_id, archive_ref="A"),
        ),
    ]
    for code, command in refusals:
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code == code
        assert count_events(ledger, order_id) == 3
        assert describe(ledger.get_order(order_id)) == before


# -- snapshots ----------------------------------------------------------------------------------


def _with_events(ledger: Ledger, count: int) -> UUID:
    """An order with ``count`` events, saved in batches of 100."""
    order_id = confirmed(ledger)
    order = ledger.get_order(order_id)
    with stamped(Stamp(START, {"actor": "load"})):
        while order.version < count:
            for _ in range(min(100, count - order.version)):
                order.progress_production(stage="组装", percent=order.version // 20)
            ledger.save(order)
    assert order.version == count
    return order_id


def test_a_long_history_is_read_from_a_snapshot_and_equals_a_full_replay(
    ledger: Ledger,
) -> None:
    long_id = _with_events(ledger, 1000)
    short_id = _with_events(ledger, 10)
    snapshots = list(ledger.snapshots.get(long_id))  # type: ignore[union-attr]
    assert snapshots, "no snapshot was taken"
    assert snapshots[-1].originator_version == 1000
    assert len(snapshots) == 1000 // ledger.settings.snapshot_interval
    assert describe(ledger.get_order(long_id)) == describe(full_replay(ledger, long_id))
    assert describe(ledger.get_order(long_id, version=777)) == describe(
        _replay_to(ledger, long_id, 777)
    )

    # Reading the long order folds at most one snapshot interval of events,
    # as few as the short order's whole history (counted, not timed).
    assert events_read(ledger, long_id, 1000) <= ledger.settings.snapshot_interval
    assert events_read(ledger, long_id, 777) <= ledger.settings.snapshot_interval
    assert events_read(ledger, short_id, 10) == 10


def events_read(ledger: Ledger, order_id: UUID, version: int) -> int:
    """How many stored events a read of the order at ``version`` decodes
    (the repository's own read, bypassing the cache)."""
    recorder = ledger.recorder
    select = recorder.select_events
    count = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        found = select(*args, **kwargs)
        count += len(found)
        return found

    recorder.select_events = counting  # type: ignore[method-assign]
    try:
        ledger.repository.get(order_id, version=version)
    finally:
        del recorder.select_events
    return count


def _replay_to(ledger: Ledger, order_id: UUID, version: int) -> Order:
    order: Any = None
    event: Any
    for event in ledger.events.get(order_id, lte=version):
        order = event.mutate(order)
    return order  # type: ignore[no-any-return]


# -- split and merge, atomically ------------------------------------------------------------------


def test_split_saves_the_parent_and_its_children_together(ledger: Ledger) -> None:
    parent = confirmed(ledger)
    number = ledger.get_order(parent).number
    result = ledger.split(
        Ctx(actor="sales"),
        parent,
        [[SkuQty("A", 10), SkuQty("B", 1)], [SkuQty("B", 3)], [SkuQty("C", 6)]],
    )
    assert result.order.stage == "split"
    assert [c.number for c in result.others] == [f"{number}-1", f"{number}-2", f"{number}-3"]
    assert result.position is not None
    for child in result.others:
        stored = ledger.find_by_number(child.number)
        assert stored.split_from == str(parent)
        assert describe(stored) == describe(child)
    assert ledger.get_order(parent).split_into == [str(c.id) for c in result.others]
    assert ledger.history(parent)[-1].type == "OrderSplit"


def test_merge_saves_the_sources_and_the_new_order_together(ledger: Ledger) -> None:
    a = receive(ledger, lines=lines_of(("A", 2, "2.50"))).order.id
    b = receive(ledger, lines=lines_of(("A", 3, "2.50"), ("B", 1, "9"))).order.id
    result = ledger.merge(Ctx(actor="sales"), [a, b])
    merged = ledger.get_order(result.order.id)
    assert NUMBER.match(merged.number)
    assert merged.merged_from == [str(a), str(b)]
    assert {s: ln.quantity for s, ln in merged.lines.items()} == {"A": 5, "B": 1}
    for source in (a, b):
        assert ledger.get_order(source).merged_into == str(merged.id)
        assert ledger.history(source)[-1].type == "OrderMerged"


def test_a_refused_merge_writes_nothing(ledger: Ledger) -> None:
    a = receive(ledger).order.id
    b = receive(ledger, customer=OTHER_CUSTOMER).order.id
    with pytest.raises(DomainError) as refused:
        ledger.merge(Ctx(), [a, b])
    assert refused.value.code == "cannot_merge_different_customers"
    assert (count_events(ledger, a), count_events(ledger, b)) == (1, 1)
    with pytest.raises(OrderNotFound):
        ledger.merge(Ctx(), [a, order_id_for("SO-2026-999999")])
    assert count_events(ledger, a) == 1


def _plant(ledger: Ledger, number: str) -> None:
    """Store an order under the id a later command will want, behind the ledger's back."""
    with stamped(Stamp(START, {"actor": "saboteur"})):
        squatter = Order.receive(
            order_id=order_id_for(number),
            number=number,
            channel="email",
            customer=CUSTOMER,
            lines=lines_of(("Z", 1, "1")),
            delivery=DELIVERY,
        )
    ledger.save(squatter)


def test_a_split_that_fails_while_saving_a_child_writes_nothing(ledger: Ledger) -> None:
    parent = receive(ledger).order.id
    number = ledger.get_order(parent).number
    _plant(ledger, f"{number}-2")  # the second child's id is taken
    with pytest.raises((LedgerError, IntegrityError)):
        ledger.split(Ctx(), parent, [[SkuQty("A", 10)], [SkuQty("B", 4)], [SkuQty("C", 6)]])
    assert [h.type for h in ledger.history(parent)] == ["OrderReceived"]
    assert ledger.get_order(parent).stage == "received"
    for i in (1, 3):
        with pytest.raises(OrderNotFound):
            ledger.find_by_number(f"{number}-{i}")
    assert ledger.find_by_number(f"{number}-2").customer == CUSTOMER
    assert count_events(ledger, order_id_for(f"{number}-2")) == 1


def test_a_merge_that_fails_while_saving_writes_nothing(ledger: Ledger) -> None:
    a = receive(ledger).order.id
    b = receive(ledger).order.id
    last = _sequence(ledger.get_order(b).number)
    for k in range(1, 11):  # every number the merge could try is taken
        _plant(ledger, f"SO-2026-{last + k:06d}")
    with pytest.raises((LedgerError, IntegrityError)):
        ledger.merge(Ctx(), [a, b])
    assert (count_events(ledger, a), count_events(ledger, b)) == (1, 1)
    assert ledger.get_order(a).stage == ledger.get_order(b).stage == "received"
