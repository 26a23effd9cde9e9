"""Order numbers in PostgreSQL: the ``ledger_order_numbers`` table."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from ledger.persistence.records import ORDER_NUMBERS_TABLE, retried

_CREATE = SQL("CREATE TABLE IF NOT EXISTS {table} (year int PRIMARY KEY, last bigint NOT NULL)")
# The row lock taken by ON CONFLICT ... DO UPDATE serialises concurrent
# allocations for one year, across all processes.
#
# The statement commits without waiting for its WAL to reach the disk
# (``synchronous_commit`` off for its own transaction only, set in the same
# statement): the year's row lock is held until the commit, so a flush per
# allocation would make every allocation of every process wait for the one
# before it to reach the disk, which was what bounded the rate of creates.
# Nothing durable can depend on an allocation that a crash loses: a number is
# used only by an event committed after it, and that commit flushes the WAL
# up to its own record, the allocation's included; a number a crash loses
# was never recorded nor answered, and is handed out again.
_NEXT = SQL(
    "INSERT INTO {table} AS n (year, last) "
    "SELECT %s, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS local "
    "ON CONFLICT (year) DO UPDATE SET last = n.last + excluded.last "
    "RETURNING last"
)


class PostgresOrderNumbers:
    """The last number of each year, one row per year."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        table = Identifier(datastore.schema, ORDER_NUMBERS_TABLE)
        self.create_statements = [_CREATE.format(table=table)]
        self.next_statement = _NEXT.format(table=table)

    # A retried allocation may skip a number (if the lost reply had
    # committed) but never repeats one.
    @retried
    def allocate(self, year: int, count: int = 1) -> int:
        # One statement on an autocommit connection is its own transaction:
        # one round trip instead of BEGIN, statement, COMMIT.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.next_statement, (year, count), prepare=True)
            row = curs.fetchone()
        assert row is not None
        return int(row["last"])
