"""Webhook deliveries to a real receiver on loopback that verifies each one
with the ``standardwebhooks`` package: every event delivered, per order in
version order, through a receiver that is down for a while, answers 500,
times out or answers 410; a failure holds back only its own order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from feed_support import TOKENS, auth
from webhook_support import (
    CTX,
    deliveries,
    order_story,
    stories,
    wait_recorded,
)

from ledger.api.app import create_app
from ledger.application import Ledger
from ledger.settings import Settings
from webhook_receiver import Receiver, assert_every_event_delivered_in_order, logged


@dataclass
class Hooked:
    client: TestClient
    app: Ledger
    receiver: Receiver
    webhook_id: str

    def subscribe(self, events: list[str] | None = None) -> str:
        body = {"url": self.receiver.url, "events": events or ["*"], "description": "測試"}
        response = self.client.post("/admin/webhooks", json=body, headers=auth("admin"))
        assert response.status_code == 201, response.text
        self.receiver.secrets.append(response.json()["secret"])
        return str(response.json()["id"])

    def subscription(self) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(
            f"/admin/webhooks/{self.webhook_id}", headers=auth("admin")
        ).json()
        return found


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=url, tokens=TOKENS, pool_size=4, webhook_allow_private=True,
        webhook_retry_base=0.05, webhook_attempts=8, webhook_timeout=1.0, audit_key="k" * 32,
    )  # fmt: skip
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def hooked(store_url: str) -> Iterator[Hooked]:
    receiver = Receiver()
    app = create_app(settings_for(store_url))
    with TestClient(app, raise_server_exceptions=True) as client:
        hooked = Hooked(client, app.state.ledger, receiver, "")
        hooked.webhook_id = hooked.subscribe()
        yield hooked
    receiver.down()
    assert not receiver.unverified, receiver.unverified


def test_every_event_of_many_orders_is_delivered_signed_and_in_order(hooked: Hooked) -> None:
    stories(hooked.app, orders=24)
    expected = logged(hooked.app)
    assert len(expected) == 24 * 5
    hooked.receiver.wait_for(lambda d: {r.position for r in d} >= set(expected))
    assert_every_event_delivered_in_order(hooked.receiver.delivered(), expected,
                                          hooked.webhook_id)  # fmt: skip
    first = hooked.receiver.delivered()[0].body["data"]
    assert first["payload"]["customer"]["phone"] == "021-555"  # as the admin reads it
    wait_recorded(hooked.client, hooked.webhook_id, len(expected))
    counts = hooked.subscription()["deliveries"]
    assert counts == {"pending": 0, "retrying": 0, "delivered": len(expected), "failed": 0}


def test_nothing_is_lost_while_the_receiver_is_down(hooked: Hooked) -> None:
    hooked.receiver.down()
    stories(hooked.app, orders=6)
    time.sleep(1.0)  # attempts fail meanwhile
    retrying = deliveries(hooked.client, hooked.webhook_id, status="retrying")
    assert retrying and all(d["last_status"] is None and d["last_error"] for d in retrying)
    assert len(retrying) == 6  # one per order: the later events of each wait behind it
    hooked.receiver.up()
    expected = logged(hooked.app)
    hooked.receiver.wait_for(lambda d: {r.position for r in d} >= set(expected))
    assert_every_event_delivered_in_order(hooked.receiver.delivered(), expected,
                                          hooked.webhook_id)  # fmt: skip


def test_a_failing_order_holds_back_only_its_own_later_events(hooked: Hooked) -> None:
    first = order_story(hooked.app, 0)
    hooked.receiver.wait_for(lambda d: len(d) == 5)
    failing, refused, mended = str(first), [], threading.Event()

    def answer(n: int, body: dict[str, Any]) -> int:
        if body["data"]["order_id"] == failing and not mended.is_set():
            refused.append(body["data"]["position"])
            return 500
        return 200

    hooked.receiver.answer = answer
    hooked.app.promise_date(CTX, first, promised_date=date(2027, 2, 1), reason="延期")
    hooked.app.hold(CTX, first, reason="再等")
    other = str(order_story(hooked.app, 1))  # while the first order's delivery fails
    hooked.receiver.wait_for(
        lambda d: sum(r.body["data"]["order_id"] == other for r in d) == 5 and len(refused) >= 2
    )
    assert set(refused) == {refused[0]}  # the same delivery: the hold waits behind it
    mended.set()
    expected = logged(hooked.app)
    hooked.receiver.wait_for(lambda d: {r.position for r in d} >= set(expected))
    assert_every_event_delivered_in_order(hooked.receiver.delivered(), expected,
                                          hooked.webhook_id)  # fmt: skip
    wait_recorded(hooked.client, hooked.webhook_id, len(expected))
    retried = [d for d in deliveries(hooked.client, hooked.webhook_id) if d["attempts"] > 1]
    assert [d["order_id"] for d in retried] == [failing]
    assert retried[0]["status"] == "delivered" and retried[0]["last_status"] == 200
    assert retried[0]["attempts"] == len(refused) + 1
    assert retried[0]["type"] == "DeliveryDatePromised"


def test_timeouts_and_errors_are_retried_until_the_last_attempt_then_failed_and_replayable(
    store_url: str,
) -> None:
    receiver = Receiver()
    app = create_app(settings_for(store_url, webhook_attempts=3, webhook_timeout=0.3))
    with TestClient(app) as client:
        hooked = Hooked(client, app.state.ledger, receiver, "")
        hooked.webhook_id = hooked.subscribe()
        slow = threading.Event()
        receiver.pause = lambda r: slow.wait(1.0) if not slow.is_set() else None
        receiver.answer = lambda n, body: 503
        oid = order_story(hooked.app, 0)
        deadline = time.monotonic() + 20
        while not deliveries(client, hooked.webhook_id, status="failed"):
            assert time.monotonic() < deadline, deliveries(client, hooked.webhook_id)
            time.sleep(0.05)
        failed = deliveries(client, hooked.webhook_id, status="failed")
        assert len(failed) == 1 and failed[0]["attempts"] == 3 and failed[0]["version"] == 1
        assert failed[0]["next_attempt_at"] is None and failed[0]["last_error"]
        held = deliveries(client, hooked.webhook_id, status="pending")
        assert [d["version"] for d in sorted(held, key=lambda d: d["position"])] == [2, 3, 4, 5]
        slow.set()
        receiver.answer = lambda n, body: 200
        at = f"/admin/webhooks/{hooked.webhook_id}/replay"
        replay = client.post(at, params={"from": failed[0]["position"]}, headers=auth("admin"))
        assert replay.status_code == 202, replay.text
        expected = logged(hooked.app)
        receiver.wait_for(lambda d: {r.position for r in d} >= set(expected))
        assert_every_event_delivered_in_order(receiver.delivered(), expected, hooked.webhook_id)
        assert str(oid) == receiver.delivered()[0].body["data"]["order_id"]
    receiver.down()
    assert not receiver.unverified


def test_an_answer_of_410_disables_the_subscription_until_it_is_replayed(hooked: Hooked) -> None:
    hooked.receiver.answer = lambda n, body: 410
    order_story(hooked.app, 0)
    deadline = time.monotonic() + 10
    while hooked.subscription()["status"] != "disabled":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "410" in hooked.subscription()["disabled_reason"]
    order_story(hooked.app, 1)
    time.sleep(0.6)
    assert len(hooked.receiver.received) == 1  # nothing more was sent
    hooked.receiver.answer = lambda n, body: 200
    replay = hooked.client.post(f"/admin/webhooks/{hooked.webhook_id}/replay",
                                params={"from": 1}, headers=auth("admin"))  # fmt: skip
    assert replay.status_code == 202
    expected = logged(hooked.app)
    hooked.receiver.wait_for(lambda d: {r.position for r in d} >= set(expected))
    assert hooked.subscription()["status"] == "active"


def test_a_subscription_to_alerts_gets_the_alerts_only(hooked: Hooked) -> None:
    alerts = hooked.subscribe(events=["alert.overdue"])
    worker = hooked.client.app.state.worker  # type: ignore[attr-defined]
    oid = order_story(hooked.app, 0)  # promised for 2027-01-01
    for name in ("board", "backlog", "search"):
        worker.wait(name, worker.source.head(), timeout=5)
    worker.scan_alerts(now=datetime(2027, 1, 20, tzinfo=UTC))
    mine = f"msg_{alerts.removeprefix('wh_')}_"
    hooked.receiver.wait_for(lambda d: any(r.message_id.startswith(mine) for r in d))
    time.sleep(0.3)  # and nothing else for it
    got = [r for r in hooked.receiver.delivered() if r.message_id.startswith(mine)]
    assert [r.body["type"] for r in got] == ["alert.overdue"]
    assert got[0].body["data"]["order_id"] == str(oid)
    assert got[0].body["data"]["stage"] == "confirmed"
