"""The seasonal read model: however it is fed (small pages, interrupted and
resumed, rebuilt from zero) it equals a fold of the log, and its monthly
series equal what the orders themselves ask for, line amounts rounded once
half-up and currencies never added together."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from projection_driver import CTX, DELIVERY, Driver

from ledger.aggregates.values import TRANSPORT_MODES, Customer, Delivery, Line, SkuQty
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.projections.framework import Source, catch_up, fold_events, records_of
from ledger.projections.runner import open_view, rebuild
from ledger.projections.seasonal import SEASONAL, DemandRow, family_of
from ledger.projections.seasonal_replica import seasonal_replica
from ledger.projections.seasonal_series import DIMENSIONS, Series, demand_rows, tally
from ledger.settings import Settings

T0 = datetime(2024, 11, 20, 9, 0, tzinfo=UTC)
RECEIVED = "ledger.aggregates.order:Order.OrderReceived"
steps = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), min_size=15, max_size=60)


class SeasonalDriver(Driver):
    """The projection driver over months, now and then amending an order's
    lines (unit prices of up to four decimals) or its transport mode."""

    def step(self, pick: int, choice: int) -> None:
        self.clock.advance(timedelta(days=self.rnd.choice((0, 0, 3, 12))))
        if self.orders and choice % 10 == 9:
            order = self.ledger.get_order(self.orders[pick % len(self.orders)])
            self._try(lambda: self.amend(order))
            return
        super().step(pick, choice)

    def amend(self, order: Any) -> None:
        rnd = self.rnd
        lines = [
            Line(sku, f"产品 {sku}", rnd.randint(1, 40), Decimal(rnd.randint(1, 99_999)) / 10_000)
            for sku in rnd.sample(["A-1", "A-2", "B-1"], rnd.randint(1, 3))
        ]
        mode = rnd.choice(TRANSPORT_MODES)
        delivery = Delivery(DELIVERY.address, DELIVERY.consignee, DELIVERY.phone, mode)
        self.ledger.amend(CTX, order.id, reason="客户调整数量", lines=lines, delivery=delivery)


def stored(view: Any) -> dict[str, str]:
    return records_of(SEASONAL, {row.order_id: row for row in view.select()})


def folded(app: Ledger) -> dict[str, str]:
    notes = app.recorder.select_notifications(1, 10**6, topics=SEASONAL.topics)
    events = (app.mapper.to_domain_event(n) for n in notes)
    return records_of(SEASONAL, fold_events(SEASONAL, events))


def from_orders(app: Ledger, by: str) -> dict[tuple[str, str], tuple[int, int, dict[str, Decimal]]]:
    """Per (series, month): orders, quantity and amount per currency, from the
    aggregates themselves (the truth the read model must agree with)."""
    notes = app.recorder.select_notifications(1, 10**6, topics=[RECEIVED])
    out: dict[tuple[str, str], Any] = {}
    for note in notes:
        order = app.get_order(cast(UUID, note.originator_id))
        if order.status in ("cancelled", "split", "merged"):
            continue
        month = app.history(order.id)[0].recorded_at.strftime("%Y-%m")
        parts: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
        for sku, line in order.lines.items():
            amount = (line.unit_price * line.quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
            key = {"product": sku, "family": family_of(sku), "customer": order.customer.name,
                   "mode": order.delivery.transport_mode}[by]  # fmt: skip
            quantity, total = parts[key]
            parts[key] = (quantity + line.quantity, total + amount)
        for key, (quantity, amount) in parts.items():
            orders, qty, amounts = out.get((key, month), (0, 0, {}))
            amounts = {**amounts, order.currency: amounts.get(order.currency, 0) + amount}
            out[(key, month)] = (orders + 1, qty + quantity, amounts)
    return out


def from_view(rows: list[DemandRow], by: str) -> dict[tuple[str, str], Any]:
    return figures_of(tally(rows, by))


def figures_of(found: dict[str, Series]) -> dict[tuple[str, str], Any]:
    return {
        (key, month): (f.orders, f.quantity, {c: a for c, a in f.amounts.items()})
        for key, series in found.items()
        for month, f in series.months.items()
    }


def run_property(url: str, script: list[tuple[int, int]], cut: int, seed: int) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=url, pool_size=2), clock)
    try:
        driver = SeasonalDriver(app, clock, seed)
        live = open_view(app, SEASONAL)
        source = Source.of(app)
        for i, (pick, choice) in enumerate(script):
            driver.step(pick, choice)
            if i % 9 == 4:
                catch_up(live, source, page=3)
        expected = folded(app)
        catch_up(live, source, page=3)
        assert stored(live) == expected, "incremental != fold"
        resumed = open_view(app, SEASONAL, "view_seasonal_resumed")
        catch_up(resumed, source, page=4, until=min(cut, source.head()))
        catch_up(resumed, source, page=4)
        assert stored(resumed) == expected, "resumed != fold"
        rebuild(live, source, page=5)
        assert stored(live) == expected, "rebuilt != fold"
        rows = demand_rows(live, "product")
        for by in DIMENSIONS:
            assert from_view(rows, by) == from_orders(app, by), by
    finally:
        app.close()


@given(script=steps, cut=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_the_memory_view_equals_a_fold_of_the_log_and_the_orders(
    script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    run_property("memory://", script, cut, seed)


@pytest.fixture(scope="module")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seasonal")


_runs = iter(range(10**9))


@given(script=steps, cut=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_the_sqlite_view_equals_a_fold_of_the_log_and_the_orders(
    sqlite_dir: Path, script: list[tuple[int, int]], cut: int, seed: int
) -> None:
    path = sqlite_dir / f"run{next(_runs)}.db"
    run_property(f"sqlite:///{quote(str(path))}", script, cut, seed)


def test_line_amounts_are_rounded_once_half_up_and_currencies_stay_apart() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)
    lines = [
        Line("LGT-PL-6060", "面板灯", 3, Decimal("0.335")),
        Line("LGT-T8", "灯管", 1, Decimal("2.5")),
    ]
    for currency in ("CNY", "USD", "CNY"):
        app.receive(CTX, channel="phone", customer=Customer("王小明"), lines=lines,
                    delivery=DELIVERY, currency=currency)  # fmt: skip
    view = open_view(app, SEASONAL)
    catch_up(view, Source.of(app))
    product = tally(demand_rows(view, "product"), "product")["LGT-PL-6060"].months["2024-11"]
    assert (product.orders, product.quantity) == (3, 9)
    assert product.amounts == {"CNY": Decimal("2.02"), "USD": Decimal("1.01")}  # 1.005 -> 1.01
    family = tally(demand_rows(view, "family"), "family")["LGT"].months["2024-11"]
    assert family.orders == 3 and family.amounts == {"CNY": Decimal("7.02"), "USD": Decimal("3.51")}


def test_cancelled_split_and_merged_orders_ask_for_nothing_their_replacements_do() -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url="memory://"), clock)

    def receive(quantity: int) -> Any:
        line = Line("MOT-1", "电机", quantity, Decimal("10"))
        return app.receive(CTX, channel="phone", customer=Customer("李雷"), lines=[line],
                           delivery=DELIVERY).order.id  # fmt: skip

    cancelled, split, first, second = receive(1), receive(6), receive(2), receive(3)
    app.cancel(CTX, cancelled, reason="客户取消")
    clock.advance(timedelta(days=40))  # the replacements are received in December
    app.split(CTX, split, [[SkuQty("MOT-1", 4)], [SkuQty("MOT-1", 2)]])
    app.merge(CTX, [first, second])
    view = open_view(app, SEASONAL)
    catch_up(view, Source.of(app))
    months = tally(demand_rows(view, "product"), "product")["MOT-1"].months
    assert set(months) == {"2024-12"}
    assert (months["2024-12"].orders, months["2024-12"].quantity) == (3, 11)


def test_the_in_memory_replica_follows_the_log_ahead_of_the_stored_view(tmp_path: Path) -> None:
    clock = SimulatedClock(T0)
    app = Ledger(Settings(database_url=f"sqlite:///{quote(str(tmp_path / 'r.db'))}"), clock)
    try:
        driver = SeasonalDriver(app, clock, seed=5)
        for i in range(40):
            driver.step(i * 7, i * 13)
        stored_view, source = open_view(app, SEASONAL), Source.of(app)
        catch_up(stored_view, source)
        replica = seasonal_replica(stored_view, source)
        assert replica is seasonal_replica(stored_view, source)  # one per view
        assert stored(replica.current()) == stored(stored_view) == folded(app)
        for by in DIMENSIONS:  # summed now, then kept current as rows change
            assert figures_of(replica.series(by)) == from_orders(app, by)
        handed_out = replica.series("product")
        then = figures_of(handed_out)
        for i in range(40, 90):
            driver.step(i * 7, i * 13)  # the stored view does not catch up
        assert stored(replica.current()) == folded(app) != stored(stored_view)
        assert figures_of(handed_out) == then != figures_of(replica.series("product"))
        for by in DIMENSIONS:
            assert figures_of(replica.series(by)) == from_orders(app, by), by
            some = next(iter(replica.series(by)))
            assert figures_of(replica.series(by, some)) == {
                k: v for k, v in from_orders(app, by).items() if k[0] == some
            }
    finally:
        app.close()
