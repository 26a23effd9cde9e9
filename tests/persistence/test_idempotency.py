"""Idempotency keys, one part per backend (``persistence.idempotency``,
``persistence.pg_idempotency``), each on its own table: a record written in
a transaction is found as it was; a rolled-back one is not; a reused key is
refused with the error the application tells apart from a version conflict."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from part_stores import create_tables

from ledger.persistence.idempotency import MemoryIdempotency, SQLiteIdempotency
from ledger.persistence.pg_idempotency import PostgresIdempotency, columns, records_of
from ledger.persistence.records import IdempotencyKeyConflict, IdempotencyRecord

Stored = SQLiteIdempotency | PostgresIdempotency


def record(key: str, version: int = 1, **changes: Any) -> IdempotencyRecord:
    values: dict[str, Any] = {
        "key": key,
        "fingerprint": "f" * 64,
        "order_id": str(uuid4()),
        "version": version,
        "recorded_at": datetime(2026, 6, 30, 9, 15, 0, 123456, tzinfo=UTC),
    }
    return IdempotencyRecord(**(values | changes))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def keys(request: pytest.FixtureRequest) -> Stored:
    if request.param == "sqlite":
        datastore: Any = request.getfixturevalue("sqlite_datastore")
        create_tables(datastore, SQLiteIdempotency.create_statements)
        return SQLiteIdempotency(datastore)
    part = PostgresIdempotency(request.getfixturevalue("pg_datastore"))
    create_tables(part.datastore, part.create_statements)
    return part


def store(keys: Stored, *records: IdempotencyRecord, commit: bool = True) -> None:
    """Insert ``records`` in one transaction of the part's store."""
    part: Any = keys  # its own cursor type
    with part.datastore.transaction(commit=commit) as cursor:
        part.insert(cursor, records)


def test_a_record_written_in_a_transaction_is_found_as_it_was(keys: Stored) -> None:
    written = record("键-1", 3, recorded_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    store(keys, written)

    assert keys.find("键-1") == written
    assert keys.find("another") is None


def test_a_rolled_back_record_is_not_stored(keys: Stored) -> None:
    store(keys, record("k"), commit=False)
    assert keys.find("k") is None


def test_the_time_keeps_its_instant_in_any_zone(keys: Stored) -> None:
    taipei = timezone(timedelta(hours=8))
    store(keys, record("k", recorded_at=datetime(2026, 6, 30, 17, 15, tzinfo=taipei)))

    found = keys.find("k")
    assert found is not None
    assert found.recorded_at == datetime(2026, 6, 30, 9, 15, tzinfo=UTC)
    assert found.recorded_at.tzinfo is not None


def test_a_save_s_rows_come_from_its_idempotency_argument(keys: Stored) -> None:
    mine = record("k")
    assert keys.rows({}) == []
    assert keys.rows({"idempotency": mine}) == [mine]
    with pytest.raises(TypeError, match="IdempotencyRecord"):
        keys.rows({"idempotency": "k"})


def test_a_reused_key_is_taken_and_its_conflict_names_it(keys: Stored) -> None:
    kwargs = {"idempotency": record("k")}
    assert not keys.taken(kwargs)
    store(keys, record("k"))

    assert keys.taken(kwargs)
    conflict = keys.conflict(kwargs)
    assert isinstance(conflict, IdempotencyKeyConflict)
    assert conflict.key == "k"


def test_sqlite_refuses_a_reused_key_with_the_key_conflict(
    sqlite_datastore: SQLiteDatastore,
) -> None:
    keys = SQLiteIdempotency(sqlite_datastore)
    create_tables(sqlite_datastore, keys.create_statements)
    first = record("k")
    store(keys, first)

    with pytest.raises(IdempotencyKeyConflict) as raised:
        store(keys, record("fresh"), record("k"))

    assert raised.value.key == "k"
    assert keys.find("k") == first and keys.find("fresh") is None


@pytest.mark.postgres
def test_postgres_reports_a_reused_key_as_a_violation_on_its_table(
    pg_datastore: PostgresDatastore,
) -> None:
    # What the recorder turns into the key conflict (by the table's name).
    keys = PostgresIdempotency(pg_datastore)
    create_tables(pg_datastore, keys.create_statements)
    store(keys, record("k"))

    with pytest.raises(IntegrityError) as raised:
        store(keys, record("fresh"), record("k"))

    cause = raised.value.__cause__
    assert isinstance(cause, psycopg.errors.UniqueViolation)
    assert cause.diag.table_name == keys.table
    assert keys.find("fresh") is None


@pytest.mark.postgres
def test_postgres_writes_several_saves_keys_in_one_statement(
    pg_datastore: PostgresDatastore,
) -> None:
    keys = PostgresIdempotency(pg_datastore)
    create_tables(pg_datastore, keys.create_statements)
    saves = [{"idempotency": record(f"k{i}", i)} for i in range(3)] + [{}]
    records = records_of(saves)
    assert [r.key for r in records] == ["k0", "k1", "k2"]
    assert columns(records)[3] == [0, 1, 2]
    batch = record("b1"), record("b2")
    assert keys.rows({"idempotency_batch": list(batch)}) == list(batch)

    store(keys, *records, *batch)

    assert [keys.find(k) for k in ("k0", "k1", "k2", "b1", "b2")] == [*records, *batch]


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1),
    fingerprint=st.text(st.characters(codec="utf-8", exclude_characters="\x00")),
)
def test_any_unicode_key_and_fingerprint_round_trip(
    keys: Stored, key: str, fingerprint: str
) -> None:
    if keys.find(key) is not None:  # the part's table outlives one example
        return
    written = record(key, fingerprint=fingerprint)
    store(keys, written)
    assert keys.find(key) == written


def test_in_memory_a_taken_key_is_refused_before_anything_is_written() -> None:
    keys = MemoryIdempotency(threading.RLock())
    first = record("k")
    keys.check({"idempotency": first})
    keys.write({"idempotency": first})
    keys.write({})

    with pytest.raises(IdempotencyKeyConflict):
        keys.check({"idempotency": record("k")})
    keys.check({"idempotency": record("other")})
    assert keys.find("k") == first
    assert keys.find("other") is None
