"""Every view class is a correct library TrackingRecorder, and honours the
view contract: rows and position move together, a stale page is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, Tracking
from eventsourcing.tests.persistence import TrackingRecorderTestCase
from eventsourcing.utils import Environment

from ledger.projections.board import BOARD
from ledger.projections.facts import OrderFacts
from ledger.projections.view_memory import MemoryView
from ledger.projections.view_postgres import make_postgres_view
from ledger.projections.view_sqlite import make_sqlite_view
from ledger.settings import Settings, eventsourcing_env


def _datastore(test: Any, url: str) -> Any:
    settings = Settings(database_url=url, pool_size=2)
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    test.addCleanup(factory.close)
    return cast(Any, factory).datastore


class TestMemoryViewIsATrackingRecorder(TrackingRecorderTestCase):
    def create_recorder(self) -> Any:
        return MemoryView(BOARD)


class TestSQLiteViewIsATrackingRecorder(TrackingRecorderTestCase):
    url = ""

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{quote(str(tmp_path / 'views.db'))}"

    def create_recorder(self) -> Any:
        return make_sqlite_view(_datastore(self, self.url), BOARD)


@pytest.mark.postgres
class TestPostgresViewIsATrackingRecorder(TrackingRecorderTestCase):
    url = ""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str) -> None:
        self.url = postgres_url

    def create_recorder(self) -> Any:
        return make_postgres_view(_datastore(self, self.url), BOARD)


def facts(n: int, customer: str = "王小明", stage_status: str = "received") -> OrderFacts:
    return OrderFacts(
        order_id=f"id-{n:03d}",
        number=f"SO-2026-{n:06d}",
        customer=customer,
        channel="email",
        currency="CNY",
        created_at="2026-01-05T09:00:00+00:00",
        last_event_at="2026-01-05T09:00:00+00:00",
        version=1,
        status=stage_status,
    )


@pytest.fixture
def view(database_url: str, request: pytest.FixtureRequest) -> Any:
    if database_url == "memory://":
        return MemoryView(BOARD)
    settings = Settings(database_url=database_url, pool_size=2)
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    request.addfinalizer(factory.close)
    datastore = cast(Any, factory).datastore
    if database_url.startswith("sqlite"):
        return make_sqlite_view(datastore, BOARD)
    return make_postgres_view(datastore, BOARD)


def test_rows_and_position_are_written_together(view: Any) -> None:
    view.write({f"id-{n:03d}": facts(n) for n in range(5)}, Tracking("ledger", 5), None)
    view.write({"id-001": None, "id-002": facts(2, "María")}, Tracking("ledger", 9), 5)
    assert view.max_tracking_id("ledger") == 9
    assert [r.order_id for r in view.select()] == ["id-000", "id-002", "id-003", "id-004"]
    assert view.rows(["id-002", "id-404"]) == {"id-002": facts(2, "María")}


def test_a_page_from_a_stale_position_writes_nothing(view: Any) -> None:
    view.write({"id-000": facts(0)}, Tracking("ledger", 3), None)
    with pytest.raises(IntegrityError):
        view.write({"id-001": facts(1)}, Tracking("ledger", 6), None)
    with pytest.raises(IntegrityError):
        view.write({"id-001": facts(1)}, Tracking("ledger", 3), 3)
    assert view.max_tracking_id("ledger") == 3
    assert view.rows(["id-001"]) == {}


def test_select_filters_sorts_and_pages(view: Any) -> None:
    rows = {f"id-{n:03d}": facts(n, "María" if n % 2 else "王小明") for n in range(7)}
    view.write(rows, Tracking("ledger", 1), None)
    found = view.select([("customer", "=", "María")], order_by=["number"], limit=2, offset=1)
    assert [r.order_id for r in found] == ["id-003", "id-005"]
    assert view.count([("customer", "in", ["María", "nobody"])]) == 3
    assert view.count([("stage", "=", "received"), ("number", ">=", "SO-2026-000005")]) == 2
    with pytest.raises(ValueError):
        view.select([("data; DROP TABLE x", "=", 1)])


def test_swap_in_replaces_rows_and_position_at_once(view: Any) -> None:
    view.write({"id-000": facts(0)}, Tracking("ledger", 2), None)
    shadow = view.shadow()
    assert shadow.select() == [] and shadow.max_tracking_id("ledger") is None
    shadow.write({"id-001": facts(1)}, Tracking("ledger", 7), None)
    view.swap_in(shadow)
    assert [r.order_id for r in view.select()] == ["id-001"]
    assert view.max_tracking_id("ledger") == 7
    again = view.shadow()  # a second rebuild starts from empty shadow tables
    assert again.select() == []
