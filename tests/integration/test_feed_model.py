"""The feed's read model (``integration.feed_model``): the items it keeps are
byte for byte what the feed decodes from the log, with personal fields opened
or withheld alike; and a feed whose model is behind, or has none, reads the
same log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
import pytest
from feed_support import oracle_log
from hypothesis import given
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.integration.feed import Feed
from ledger.integration.feed_kept import FeedStore
from ledger.integration.feed_model import FEED
from ledger.projections.framework import Source, View, catch_up
from ledger.projections.runner import open_view

TYPE_CHOICES: list[tuple[str, ...]] = [
    (),
    ("OrderReceived",),
    ("ShipmentDispatched", "alert.overdue", "alert.cleared"),
    ("ComplaintFiled", "ShipmentDelivered", "PersonalDataErased"),
]


def projected(ledger: Ledger, table: str, until: int | None = None) -> View[Any]:
    """The feed's model in a table of its own, caught up (to ``until``) in small pages."""
    view = open_view(ledger, FEED, table)
    catch_up(view, Source.of(ledger), page=97, until=until)
    return view


@pytest.fixture(scope="module")
def whole(populated: Ledger) -> View[Any]:
    return projected(populated, "feed_model_whole")


@pytest.fixture(scope="module")
def halfway(populated: Ledger) -> View[Any]:
    head = Feed(populated).head()
    return projected(populated, "feed_model_halfway", until=head // 2)


@pytest.fixture(scope="module")
def log(populated: Ledger) -> list[dict[str, Any]]:
    return oracle_log(populated)


def test_the_model_holds_every_feed_event_and_personal_ones_sealed(
    populated: Ledger, whole: View[Any], log: list[dict[str, Any]]
) -> None:
    rows = whole.select()
    assert [row.position for row in rows] == [item["position"] for item in log]
    sealed = [row for row in rows if row.sealed]
    assert sealed and len(sealed) < len(rows)  # only events with personal fields carry them
    assert whole.max_tracking_id(populated.name) == Feed(populated).head()


@given(data=st.data())
def test_kept_items_are_byte_for_byte_what_the_log_decodes_to(
    populated: Ledger, whole: View[Any], log: list[dict[str, Any]], data: st.DataObject
) -> None:
    """A fold over the same events (today's decoding) against the model's rows."""
    head = log[-1]["position"]
    after = data.draw(st.integers(0, head), label="after")
    limit = data.draw(st.integers(1, 300), label="limit")
    types = data.draw(st.sampled_from(TYPE_CHOICES), label="types")
    opened = data.draw(st.booleans(), label="opened")
    decoded = Feed(populated).read(after, limit, types=types, opened=opened)
    store: FeedStore = whole  # type: ignore[assignment]
    kept = Feed(populated, store=store).read(after, limit, types=types, opened=opened)
    assert not kept.decoded  # every item came from the model
    assert kept.json() == orjson.dumps({"events": decoded.events, "next": decoded.next})


@given(data=st.data())
def test_a_model_behind_or_none_reads_the_log_from_any_position_in_pages_of_any_size(
    populated: Ledger, halfway: View[Any], log: list[dict[str, Any]], data: st.DataObject
) -> None:
    head = log[-1]["position"]
    store: FeedStore | None = data.draw(st.sampled_from([halfway, None]), label="store")
    feed = Feed(populated, store=store)
    start = data.draw(st.integers(0, head), label="start")
    sizes = data.draw(st.lists(st.integers(1, 120), min_size=1, max_size=6), label="sizes")
    types = data.draw(st.sampled_from(TYPE_CHOICES), label="types")
    collected: list[dict[str, Any]] = []
    position, turn = start, 0
    while position < head:
        page = feed.read(position, sizes[turn % len(sizes)], types=types)
        assert page.next > position
        assert orjson.loads(page.json()) == {"events": page.events, "next": page.next}
        collected += page.events
        position, turn = page.next, turn + 1
    assert collected == [
        e for e in log if e["position"] > start and (not types or e["type"] in types)
    ]


def test_one_orders_events_come_from_the_model_with_its_alerts(
    populated: Ledger, whole: View[Any], log: list[dict[str, Any]]
) -> None:
    alerted = next(e["order_id"] for e in log if e["type"].startswith("alert."))
    store: FeedStore = whole  # type: ignore[assignment]
    page = Feed(populated, store=store).read(0, 2000, order=UUID(alerted))
    assert page.events == [e for e in log if e["order_id"] == alerted]
    assert page.kept and not page.decoded
