"""``few_collections`` (bulk jobs) and ``freeze_heap`` (served processes) share
the one collector of the process: a bulk job must not leave a served
process's heap unfrozen, nor a test's heap frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ledger.collection import THRESHOLD, few_collections, freeze_heap


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector")
def test_a_bulk_job_in_a_frozen_process_leaves_it_frozen_without_the_jobs_garbage() -> None:
    freeze_heap()
    kept = gc.get_freeze_count()
    threshold = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] == THRESHOLD
        rows = [{"row": i} for i in range(50_000)]
        assert rows
        del rows
    assert gc.get_threshold() == threshold
    # Frozen again, and not with the job's rows (gone before the freeze).
    assert 0 < gc.get_freeze_count() < kept + 50_000


@pytest.mark.usefixtures("collector")
def test_a_bulk_job_in_a_process_that_never_froze_leaves_nothing_frozen() -> None:
    with few_collections(), few_collections():  # nested uses share the setting
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
