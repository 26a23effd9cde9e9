"""The library's own application-recorder test case, run against the
ledger's recorders: the subclasses must still be correct recorders."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from eventsourcing.utils import Environment

from ledger.persistence.popo import LedgerPOPORecorder
from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.persistence.sqlite import LedgerSQLiteRecorder
from ledger.settings import Settings, eventsourcing_env


class _FactoryMixin:
    """Builds recorders from a database URL the way the application does."""

    database_url: str
    recorder_class: type[Any]
    # The library's concurrency test leaves its reader threads to stop on
    # their own; closing a SQLite connection under a running reader crashes
    # the interpreter, so SQLite is closed by garbage collection instead,
    # once those threads let go of the recorder.
    close_factory = True

    def create_recorder(self) -> Any:
        # The library's concurrency test runs ten writers at once.
        settings = Settings(database_url=self.database_url, pool_size=5)
        factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
        if self.close_factory:
            cast(Any, self).addCleanup(factory.close)
        recorder = factory.application_recorder()
        assert type(recorder) is self.recorder_class
        return recorder


class TestLedgerPOPORecorderContract(
    _FactoryMixin, ApplicationRecorderTestCase[LedgerPOPORecorder]
):
    database_url = "memory://"
    recorder_class = LedgerPOPORecorder


class TestLedgerSQLiteRecorderContract(
    _FactoryMixin, ApplicationRecorderTestCase[LedgerSQLiteRecorder]
):
    recorder_class = LedgerSQLiteRecorder
    close_factory = False

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.database_url = f"sqlite:///{quote(str(tmp_path / 'ledger.db'))}"


@pytest.mark.postgres
class TestLedgerPostgresRecorderContract(
    _FactoryMixin, ApplicationRecorderTestCase[LedgerPostgresRecorder]
):
    recorder_class = LedgerPostgresRecorder

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str) -> None:
        self.database_url = postgres_url


@pytest.mark.postgres
class TestLedgerPostgresRecorderNonInterleaving(
    _FactoryMixin, NonInterleavingNotificationIDsBaseCase
):
    """Two racing saves (one group-commit batch or two transactions): the
    notification ids of one never fall between those of the other."""

    recorder_class = LedgerPostgresRecorder

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str) -> None:
        self.database_url = postgres_url
