"""How an attempt's answer is judged and when the next one is due: the
documented retry schedule, within its jitter, about a day in all."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.integration.delivery import Deliverer, nominal_delays, retry_delay
from ledger.integration.egress import Outcome
from ledger.integration.webhook_store import Delivery
from ledger.settings import Settings

DEFAULTS = Settings(database_url="memory://")


def test_the_default_schedule_is_the_documented_one_and_lasts_about_a_day() -> None:
    delays = nominal_delays(DEFAULTS.webhook_retry_base, DEFAULTS.webhook_attempts)
    assert delays == [30, 90, 270, 810, 2430, 7290, 21870, 65610]
    assert 24 * 3600 <= sum(delays) <= 30 * 3600


@given(failed=st.integers(1, 19), base=st.floats(0.01, 3600), seed=st.integers())
def test_each_delay_is_its_nominal_one_within_twenty_percent(
    failed: int, base: float, seed: int
) -> None:
    nominal = nominal_delays(base, failed + 1)[-1]
    delay = retry_delay(failed, base, random.Random(seed))
    assert 0.8 * nominal <= delay <= 1.2 * nominal


def deliverer(attempts: int = 3) -> Deliverer:
    unused: Any = None
    return Deliverer(unused, "", unused, unused, unused, retry_base=10.0, attempts=attempts,
                     clock=lambda: 1000.0)  # fmt: skip


PENDING = Delivery(position=7, order_id="o", version=2, type="OrderVerified", status="pending",
                   attempts=0, generation=3)  # fmt: skip


@given(status=st.integers(200, 299))
def test_any_2xx_is_delivered(status: int) -> None:
    attempt = deliverer().judge(PENDING, Outcome(status), 1000.0)
    assert (attempt.status, attempt.delivered_at, attempt.next_attempt_at) == (
        "delivered",
        1000.0,
        None,
    )
    assert (attempt.attempts, attempt.generation, attempt.last_error) == (1, 3, None)


@given(status=st.sampled_from([301, 400, 404, 409, 429, 500, 502, 503]) | st.none())
def test_other_answers_and_no_answer_are_retried_then_failed(status: int | None) -> None:
    judge = deliverer(attempts=3).judge
    outcome = Outcome(status, "" if status else "timed out")
    first = judge(PENDING, outcome, 1000.0)
    assert first.status == "retrying" and first.attempts == 1
    assert first.next_attempt_at is not None and 1008.0 <= first.next_attempt_at <= 1012.0
    assert first.last_error == (f"HTTP {status}" if status else "timed out")
    last = judge(
        Delivery(7, "o", 2, "OrderVerified", "retrying", attempts=2, generation=3), outcome, 1e3
    )
    assert (last.status, last.attempts, last.next_attempt_at) == ("failed", 3, None)


def test_410_leaves_the_delivery_first_in_line() -> None:
    attempt = deliverer().judge(PENDING, Outcome(410), 1000.0)
    assert (attempt.status, attempt.last_status, attempt.next_attempt_at) == (
        "retrying",
        410,
        1000.0,
    )
