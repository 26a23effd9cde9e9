"""Order numbers, one part per backend (``persistence.numbering``,
``persistence.pg_numbering``), each on its own table: every year counts
from 1, blocks continue the count, and no number is ever handed out twice."""

from __future__ import annotations

import itertools
import threading
from typing import Protocol

import pytest
from eventsourcing.postgres import PostgresDatastore
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from part_stores import create_tables
from psycopg.sql import SQL, Identifier

from ledger.persistence.numbering import MemoryOrderNumbers, SQLiteOrderNumbers
from ledger.persistence.pg_numbering import PostgresOrderNumbers
from ledger.persistence.records import ORDER_NUMBERS_TABLE


class OrderNumbers(Protocol):
    def allocate(self, year: int, count: int = 1) -> int: ...


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def numbers(request: pytest.FixtureRequest) -> OrderNumbers:
    if request.param == "memory":
        return MemoryOrderNumbers(threading.RLock())
    if request.param == "sqlite":
        datastore = request.getfixturevalue("sqlite_datastore")
        create_tables(datastore, SQLiteOrderNumbers.create_statements)
        return SQLiteOrderNumbers(datastore)
    part = PostgresOrderNumbers(request.getfixturevalue("pg_datastore"))
    create_tables(part.datastore, part.create_statements)
    return part


def test_each_year_counts_from_one(numbers: OrderNumbers) -> None:
    assert [numbers.allocate(2026) for _ in range(3)] == [1, 2, 3]
    assert numbers.allocate(2027) == 1
    assert numbers.allocate(2026) == 4


def test_a_block_returns_its_last_number_and_the_count_goes_on(numbers: OrderNumbers) -> None:
    assert numbers.allocate(2026, 500) == 500
    assert numbers.allocate(2026) == 501
    assert numbers.allocate(2026, 2) == 503


def test_threads_allocating_at_once_never_share_a_number(numbers: OrderNumbers) -> None:
    threads, each = 6, 15
    taken: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def allocate(mine: list[int]) -> None:
        try:
            mine.extend(numbers.allocate(2026) for _ in range(each))
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    workers = [threading.Thread(target=allocate, args=(mine,)) for mine in taken]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sorted(n for mine in taken for n in mine) == list(range(1, threads * each + 1))
    assert all(mine == sorted(mine) for mine in taken)


_years = itertools.count(3000)  # a fresh year per example: the part keeps its rows


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blocks=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 1000)), max_size=12))
def test_every_allocation_ends_where_the_blocks_before_it_add_up_to(
    numbers: OrderNumbers, blocks: list[tuple[int, int]]
) -> None:
    years = [next(_years) for _ in range(3)]
    totals = dict.fromkeys(years, 0)
    for which, count in blocks:
        year = years[which]
        totals[year] += count
        assert numbers.allocate(year, count) == totals[year]


@pytest.mark.postgres
def test_postgres_keeps_one_row_per_year_in_the_store_s_schema(
    pg_datastore: PostgresDatastore,
) -> None:
    part = PostgresOrderNumbers(pg_datastore)
    create_tables(pg_datastore, part.create_statements)
    part.allocate(2026, 7)
    part.allocate(2027)

    table = Identifier(pg_datastore.schema, ORDER_NUMBERS_TABLE)
    with pg_datastore.transaction(commit=False) as curs:
        curs.execute(SQL("SELECT year, last FROM {} ORDER BY year").format(table))
        assert [(r["year"], r["last"]) for r in curs.fetchall()] == [(2026, 7), (2027, 1)]


@pytest.mark.postgres
def test_postgres_allocations_leave_the_pooled_connections_committing_synchronously(
    pg_datastore: PostgresDatastore,
) -> None:
    """An allocation commits without waiting for the WAL flush, for its own
    transaction only: the connection goes back to the pool as it came."""
    part = PostgresOrderNumbers(pg_datastore)
    create_tables(pg_datastore, part.create_statements)
    for _ in range(2 * pg_datastore.pool.max_size):
        part.allocate(2026)
    for _ in range(pg_datastore.pool.max_size):
        with pg_datastore.get_connection() as conn:
            row = conn.execute("SHOW synchronous_commit").fetchone()
            assert row is not None and row["synchronous_commit"] == "on"
    with pg_datastore.transaction(commit=False) as curs:  # committed: seen by others
        curs.execute(
            SQL("SELECT last FROM {}").format(Identifier(pg_datastore.schema, ORDER_NUMBERS_TABLE))
        )
        assert [r["last"] for r in curs.fetchall()] == [2 * pg_datastore.pool.max_size]
