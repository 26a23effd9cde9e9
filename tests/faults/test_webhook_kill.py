"""The delivering process (`ledger project`) SIGKILLed in the middle of a soak,
while a delivery is in the receiver's hands: after a restart every event of
the soak is delivered, per order in version order, and the deliveries sent
again carry the same webhook-id as before."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fault_support import (
    Soak,
    assert_answers_as_planned,
    assert_store_accounts_for_every_answer,
    serving,
    start_projector,
)

from ledger.application import Ledger
from ledger.settings import Settings
from webhook_receiver import Received, Receiver, assert_every_event_delivered_in_order, logged

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KEY = "webhook-kill-test-audit-key-0123456789"
ENV = {
    "LEDGER_AUDIT_KEY": KEY,
    "LEDGER_WEBHOOK_ALLOW_PRIVATE": "true",
    "LEDGER_WEBHOOK_RETRY_BASE": "0.2",
}


def test_a_delivering_process_killed_mid_soak_resumes_without_losing_a_delivery(
    fault_database: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    projectors: list[subprocess.Popen[bytes]] = []
    held: list[Received] = []
    release = threading.Event()

    def hold_one(received: Received) -> None:
        """The 40th delivery stays in the receiver's hands until the kill."""
        if not held and len(receiver.received) >= 40:
            held.append(received)
            release.wait(30)

    def kill_and_restart(soak: Soak) -> None:
        deadline = time.monotonic() + 60
        while not held:
            assert time.monotonic() < deadline, "no delivery reached the receiver"
            time.sleep(0.01)
        os.kill(projectors[0].pid, signal.SIGKILL)
        projectors[0].wait(timeout=10)
        release.set()  # its answer reaches nobody: never recorded as delivered
        while soak.done() < min(soak.planned * 2 // 3, soak.planned):
            time.sleep(0.01)
        projectors.append(start_projector(fault_database, tmp_path, 2, extra=ENV))

    receiver.pause = hold_one
    with serving(fault_database, tmp_path, projections=False, extra=ENV) as service:
        webhook_id = subscribe(service.url, receiver)
        projectors.append(start_projector(fault_database, tmp_path, 1, extra=ENV))
        app = Ledger(Settings(database_url=fault_database, pool_size=2, audit_key=KEY))
        try:
            soak = Soak(service.url)
            soak.prepare()
            soak.run(during=kill_and_restart)
            assert_answers_as_planned(soak)
            assert_store_accounts_for_every_answer(app, soak)
            expected = logged(app)
            receiver.wait_for(lambda d: {r.position for r in d} >= set(expected), timeout=90)
        finally:
            app.close()
            for projector in projectors:
                if projector.poll() is None:
                    projector.send_signal(signal.SIGTERM)
                    projector.wait(timeout=20)
    receiver.down()
    assert not receiver.unverified, receiver.unverified[:5]
    assert_every_event_delivered_in_order(receiver.delivered(), expected, webhook_id)
    sent = Counter(r.position for r in receiver.delivered())
    assert sent[held[0].position] >= 2  # the held one was delivered again, under its own id
    assert len(expected) >= 16 * 2 * 5  # every client's orders went through
    assert projectors[0].returncode == -signal.SIGKILL and projectors[1].returncode == 0


def subscribe(url: str, receiver: Receiver) -> str:
    response = httpx.post(f"{url}/admin/webhooks", headers={"Authorization": "Bearer t-admin"},
                          json={"url": receiver.url, "events": ["*"]}, timeout=30)  # fmt: skip
    assert response.status_code == 201, response.text
    receiver.secrets.append(response.json()["secret"])
    return str(response.json()["id"])
