"""The ledger's recorders, on every backend: idempotency keys are stored
atomically with the events, and order numbers are allocated without repeats."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledger.persistence import IdempotencyKeyConflict, IdempotencyRecord, LedgerRecorder
from ledger.settings import Settings, eventsourcing_env


class Recorder(LedgerRecorder, ApplicationRecorder):
    """For type checking only: both protocols in one."""


@pytest.fixture
def factory(ledger_settings: Settings) -> Iterator[InfrastructureFactory[Any]]:
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(ledger_settings)))
    yield factory
    factory.close()


@pytest.fixture
def recorder(factory: InfrastructureFactory[Any]) -> Recorder:
    recorder = factory.application_recorder()
    assert isinstance(recorder, LedgerRecorder)
    return cast(Recorder, recorder)


def stored_event(originator_id: UUID, version: int = 1) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=version,
        topic="ledger.aggregates.order:Order.Received",
        state=b'{"number": "SO-2026-000001"}',
    )


def idempotency(key: str, order_id: UUID, version: int = 1) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        fingerprint="f" * 64,
        order_id=str(order_id),
        version=version,
        recorded_at=datetime(2026, 6, 30, 9, 15, 0, 123456, tzinfo=UTC),
    )


def test_the_factory_builds_the_ledger_recorder(recorder: Recorder) -> None:
    assert isinstance(recorder, LedgerRecorder)
    assert type(recorder).__module__.startswith("ledger.persistence.")


def test_an_idempotency_record_is_stored_with_the_events(recorder: Recorder) -> None:
    order_id = uuid4()
    record = idempotency("键-1", order_id, version=2)

    recorder.insert_events(
        [stored_event(order_id, 1), stored_event(order_id, 2)], idempotency=record
    )

    assert [e.originator_version for e in recorder.select_events(order_id)] == [1, 2]
    assert recorder.find_idempotency("键-1") == record


def test_an_unknown_idempotency_key_is_not_found(recorder: Recorder) -> None:
    assert recorder.find_idempotency("never-used") is None


def test_a_reused_idempotency_key_writes_no_events(recorder: Recorder) -> None:
    first, second = uuid4(), uuid4()
    recorder.insert_events([stored_event(first)], idempotency=idempotency("k", first))
    max_id = recorder.max_notification_id()

    with pytest.raises(IdempotencyKeyConflict) as raised:
        recorder.insert_events(
            [stored_event(second, 1), stored_event(second, 2)],
            idempotency=idempotency("k", second),
        )

    assert raised.value.key == "k"
    assert recorder.select_events(second) == []
    assert recorder.max_notification_id() == max_id
    assert recorder.find_idempotency("k") == idempotency("k", first)


def test_a_reused_key_is_reported_even_when_the_version_also_conflicts(
    recorder: Recorder,
) -> None:
    # A client retrying a command races itself: the key tells it so.
    order_id = uuid4()
    recorder.insert_events([stored_event(order_id)], idempotency=idempotency("k", order_id))

    with pytest.raises(IdempotencyKeyConflict):
        recorder.insert_events([stored_event(order_id)], idempotency=idempotency("k", order_id))


def test_racing_saves_with_one_key_store_one_and_report_the_key_to_the_rest(
    recorder: Recorder,
) -> None:
    # The same command sent twice at once: both saw version 1 of the order.
    order_id = uuid4()
    recorder.insert_events([stored_event(order_id, 1)])
    outcomes: list[str] = []
    lock = threading.Lock()

    def save() -> None:
        try:
            recorder.insert_events(
                [stored_event(order_id, 2)], idempotency=idempotency("race", order_id, 2)
            )
            outcome = "stored"
        except IdempotencyKeyConflict:
            outcome = "key"
        except Exception as e:  # any other outcome fails the test below
            outcome = repr(e)
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=save) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes) == ["key"] * 5 + ["stored"]
    assert len(recorder.select_events(order_id)) == 2


def test_a_version_conflict_is_not_an_idempotency_conflict(recorder: Recorder) -> None:
    order_id = uuid4()
    recorder.insert_events([stored_event(order_id)])

    with pytest.raises(IntegrityError) as raised:
        recorder.insert_events([stored_event(order_id)], idempotency=idempotency("new", order_id))

    assert not isinstance(raised.value, IdempotencyKeyConflict)
    assert recorder.find_idempotency("new") is None


def test_events_without_an_idempotency_record_are_stored(recorder: Recorder) -> None:
    order_id = uuid4()
    recorder.insert_events([stored_event(order_id)])
    assert len(recorder.select_events(order_id)) == 1


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=200,
    )
)
def test_any_unicode_key_round_trips(recorder: Recorder, key: str) -> None:
    # Hypothesis reuses the recorder across examples, so a key may repeat.
    if recorder.find_idempotency(key) is None:
        order_id = uuid4()
        recorder.insert_events([stored_event(order_id)], idempotency=idempotency(key, order_id))
    found = recorder.find_idempotency(key)
    assert found is not None
    assert found.key == key


def test_order_numbers_count_from_one_in_each_year(recorder: Recorder) -> None:
    numbers_2026 = [recorder.allocate_order_number(2026) for _ in range(3)]
    first_2027 = recorder.allocate_order_number(2027)
    fourth_2026 = recorder.allocate_order_number(2026)

    assert numbers_2026 == [1, 2, 3]
    assert first_2027 == 1
    assert fourth_2026 == 4


def test_a_block_of_numbers_continues_the_year_without_gaps(recorder: Recorder) -> None:
    assert recorder.allocate_order_number(2026) == 1
    assert recorder.allocate_order_number(2026, 500) == 501
    assert recorder.allocate_order_number(2026) == 502
    assert recorder.allocate_order_number(2027, 3) == 3


def test_concurrent_allocations_never_repeat_a_number(recorder: Recorder) -> None:
    threads, per_thread = 8, 25
    sequences: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def allocate(sequence: list[int]) -> None:
        try:
            sequence.extend(recorder.allocate_order_number(2026) for _ in range(per_thread))
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    workers = [threading.Thread(target=allocate, args=(s,)) for s in sequences]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    numbers = [n for s in sequences for n in s]
    assert sorted(numbers) == list(range(1, threads * per_thread + 1))
    assert all(s == sorted(s) for s in sequences)


def test_tables_are_not_created_when_create_table_is_off(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    if database_url == "memory://":
        pytest.skip("the in-memory store has no tables")
    env = {**eventsourcing_env(make_settings()), "CREATE_TABLE": "n"}
    factory = InfrastructureFactory.construct(Environment(env=env))
    try:
        recorder = cast(Recorder, factory.application_recorder())
        with pytest.raises(PersistenceError):
            recorder.find_idempotency("k")
    finally:
        factory.close()


@pytest.mark.parametrize(
    ("module", "factory_name"),
    [
        ("ledger.persistence.popo", "LedgerPOPOFactory"),
        ("ledger.persistence.sqlite", "LedgerSQLiteFactory"),
        ("ledger.persistence.postgres", "LedgerPostgresFactory"),
    ],
)
def test_each_persistence_module_holds_exactly_one_factory(
    module: str, factory_name: str, tmp_path: Path
) -> None:
    # The library accepts a module as PERSISTENCE_MODULE only if it finds
    # exactly one factory class in it. Nothing here connects to a database.
    env = {
        "PERSISTENCE_MODULE": module,
        "SQLITE_DBNAME": str(tmp_path / "x.db"),
        "POSTGRES_DBNAME": "x",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_USER": "x",
        "POSTGRES_PASSWORD": "",
    }
    factory = InfrastructureFactory.construct(Environment(env=env))
    try:
        assert type(factory).__name__ == factory_name
    finally:
        factory.close()
