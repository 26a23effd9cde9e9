"""The change feed's page read on PostgreSQL by one binary COPY
(``LedgerPostgresRecorder.notification_page``) is exactly what the library's
``select_notifications`` returns, for any position, size, bound and topics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledger.settings import Settings, eventsourcing_env

pytestmark = pytest.mark.postgres
TOPICS = ("ledger.aggregates.order:Order.Received", "ledger.aggregates.order:Order.Verified")
EVENTS = 60


@pytest.fixture(scope="module")
def recorder(postgres_dsn: str) -> Iterator[Any]:
    schema = f"feedpage_{uuid4().hex[:8]}"
    settings = Settings(database_url=f"{postgres_dsn}?schema={schema}", pool_size=2)
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    recorder: Any = factory.application_recorder()
    recorder.create_table()
    for i in range(EVENTS):  # orders of one to three events, topics taking turns
        order = uuid4()
        recorder.insert_events(
            [
                StoredEvent(order, v, TOPICS[(i + v) % 2], f'{{"n": {i}, "v": "順{v}"}}'.encode())
                for v in range(1, 1 + i % 3 + 1)
            ]
        )
    yield recorder
    factory.close()


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    after=st.integers(0, 130),
    limit=st.integers(1, 140),
    stop=st.integers(0, 140),
    topics=st.sampled_from([(), TOPICS[:1], TOPICS[1:], TOPICS]),
)
def test_a_page_by_copy_is_the_librarys_page(
    recorder: Any, after: int, limit: int, stop: int, topics: tuple[str, ...]
) -> None:
    expected = recorder.select_notifications(
        after, limit, stop=stop, topics=topics, inclusive_of_start=False
    )
    page = recorder.notification_page(after, limit, stop, topics)
    assert [_fields(n) for n in page] == [_fields(n) for n in expected]


def _fields(note: Any) -> tuple[Any, ...]:
    return (note.id, note.originator_id, note.originator_version, note.topic, bytes(note.state))
