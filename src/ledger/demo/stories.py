"""Order stories: receipt, verification and confirmation, the fate each order
meets, and the splits and merges that tie orders together.

Every step's arguments are chosen here, with the seeded random generator,
so the same seed writes the same stories. Amounts that follow from the
order's state (what is still to invoice or pay) are read when the step runs.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from ledger.aggregates.order import STAGES, Order
from ledger.aggregates.values import Line, PaymentTerms, SkuQty
from ledger.application import order_id_for
from ledger.demo import catalogue as cat
from ledger.demo import fulfilment, making
from ledger.demo.making import on
from ledger.demo.people import Client
from ledger.demo.plan import CENT, Act, Profile, Scene, Story, Track, Writer

TARGETS = STAGES  # the lifecycle, in order: the stage a story aims for
SETTLED = ("archived", "cancelled", "rejected", "settled")  # fates that may lie anywhere in time
PROBLEMS = {
    "customer": "客户电话无法接通，联系人待确认",
    "product": "型号与规格不符，数量需与客户重新确认",
    "delivery": "收货地址缺少门牌号，收货人电话有误",
}


class StoryBook:
    """Writes the story of each order (or group of orders) up to its fate."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.w = Writer(rng)

    # -- stories ---------------------------------------------------------------

    def single(self, key: str, client: Client, fate: str) -> Story:
        story = Story(settled=fate in SETTLED)
        self.w.start(story)
        p = self._profile(Track(key), client)
        self._receive(p)
        self.follow(p, fate)
        return story

    def split(self, key: str, client: Client, children: list[tuple[str, str]]) -> Story:
        """An order closed into parts delivered separately; each part has its fate."""
        story = Story(settled=all(f in SETTLED for _, f in children))
        self.w.start(story)
        p = self._profile(Track(key), client, min_units=len(children))
        self._receive(p)
        self._verify(p, fail=self.rng.random() < 0.1, fix=True)
        if self.rng.random() < 0.5:
            self._confirm(p, invoice_prepayment=False)
        parts = _partition(self.rng, p.lines, len(children))
        self.w.step(
            p.track,
            (0.5, 4),
            p.sales,
            "split",
            _split_act(key, [k for k, _ in children], parts),
            "客户要求分批交货",
            creates=True,
        )
        by_sku = {line.sku: line for line in p.lines}
        for (child_key, fate), part in zip(children, parts, strict=True):
            lines = [replace(by_sku[item.sku], quantity=item.quantity) for item in part]
            self.follow(p.fork(Track(child_key, p.track.day), lines), fate)
        return story

    def merge(self, keys: list[str], client: Client, result: tuple[str, str]) -> Story:
        """Orders of one customer combined into one; the new order has its fate."""
        story = Story(settled=result[1] in SETTLED)
        self.w.start(story)
        sources = []
        for key in keys:
            p = self._profile(Track(key, self.rng.uniform(0, 6)), client)
            self._receive(p)
            self._verify(p, fail=False, fix=True)
            sources.append(p)
        first = sources[0]
        track = Track(result[0], max(s.track.day for s in sources))
        self.w.step(
            track,
            (0.5, 3),
            first.sales,
            "merge",
            _merge_act(keys, result[0]),
            "同一客户订单合并发货",
            numbered=True,
        )
        combined: dict[str, Line] = {}
        for source in sources:
            for line in source.lines:
                seen = combined.get(line.sku)
                combined[line.sku] = (
                    line if seen is None else replace(seen, quantity=seen.quantity + line.quantity)
                )
        self.follow(first.fork(track, list(combined.values())), result[1])
        return story

    # -- one order from received to its fate ------------------------------------

    def follow(self, p: Profile, fate: str) -> None:
        target, ending = self._resolve(fate)
        reach = TARGETS.index(target)
        if ending == "reject":
            self._verify(p, fail=True, fix=False)
            return
        if reach >= 1:
            self._verify(p, fail=self.rng.random() < 0.12, fix=True)
        if reach >= 2:
            cancelling = ending in ("cancel", "cancel_archive")
            self._confirm(p, invoice_prepayment=not cancelling and target != "delivered")
            if self.rng.random() < 0.08:
                self._hold(p, "客户信用额度复核")
                cleared = "信用复核通过"
                release = on(p.track.key, "release", reason=cleared)
                self.w.step(p.track, (1, 6), p.sales, "release", release, cleared)
        fulfilment.fulfil(self.w, p, reach)
        if ending == "hold":
            self._hold(
                p, self.rng.choice(("客户要求暂缓发货", "付款逾期，暂停跟进", "客户变更设计待确认"))
            )
        elif ending is not None:
            self._cancel(p, archive=ending == "cancel_archive")

    def _resolve(self, fate: str) -> tuple[str, str | None]:
        """The lifecycle stage the story reaches, and how it ends there."""
        pick = self.rng.choice
        if fate == "archived" and self.rng.random() < 0.1:
            return pick(TARGETS[:3]), "cancel_archive"
        if fate == "rejected":
            return "received", "reject"
        if fate == "on_hold":
            return pick(TARGETS[1:6]), "hold"
        if fate == "cancelled":
            return pick(TARGETS[:5]), "cancel"
        return fate, None

    # -- steps -------------------------------------------------------------------

    def _profile(self, track: Track, client: Client, *, min_units: int = 1) -> Profile:
        """A new order's lines (1–4 catalogue items at list price) and its staff."""
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
        products = _products(rng, count)
        self.w.story.family = self.w.story.family or products[0].family
        rate = cat.RATES[client.currency]
        lines = []
        for product in products:
            quantity = max(
                _round_quantity(rng.randint(product.min_qty, product.max_qty)), min_units
            )
            price = (product.price / rate).quantize(CENT, ROUND_HALF_UP)
            lines.append(
                Line(product.sku, product.name, quantity, price, product.model, product.spec)
            )
        return Profile(
            track, client, lines,
            merchandiser=f"{rng.choice(cat.MERCHANDISERS)} (merchandiser)",
            sales=f"{rng.choice(cat.SALES)} (sales)",
        )  # fmt: skip

    def _receive(self, p: Profile) -> None:
        c = p.client
        channel = self.rng.choice(c.channels)
        requested = self.rng.randint(20, 60)
        lines = list(p.lines)

        def act(s: Scene) -> None:
            number = s.new_number()
            order = Order.receive(
                order_id=order_id_for(number), number=number, channel=channel,
                customer=c.customer, lines=lines, currency=c.currency,
                delivery=c.delivery, requested_date=s.day(requested),
            )  # fmt: skip
            s.add(p.track.key, order)

        self.w.step(p.track, (0, 0), p.sales, "receive", act, numbered=True)

    def _verify(self, p: Profile, *, fail: bool, fix: bool) -> None:
        key = p.track.key
        ok = {"customer": True, "product": True, "delivery": True}
        if fail:
            area = self.rng.choice(tuple(ok))
            failed = {**ok, area: False}
            self.w.step(
                p.track,
                (0.05, 1),
                p.merchandiser,
                "verify",
                lambda s: s.order(key).verify(failed, [PROBLEMS[area]]),
            )
            if not fix:
                return
            self._amend(p, area)
        self.w.step(p.track, (0.05, 1), p.merchandiser, "verify", lambda s: s.order(key).verify(ok))

    def _amend(self, p: Profile, area: str) -> None:
        """Correct what verification found wrong, so the order can pass next time."""
        key, reason = p.track.key, f"核对后更正：{PROBLEMS[area]}"
        if area == "product":
            first = p.lines[0]
            p.lines = [replace(first, quantity=first.quantity + 10), *p.lines[1:]]
            act = on(key, "amend", reason=reason, lines=list(p.lines))
        elif area == "delivery":
            delivery = p.client.delivery
            fixed = replace(delivery, address=f"{delivery.address}（已与收货人核实）")
            act = on(key, "amend", reason=reason, delivery=fixed)
        else:
            days = self.rng.randint(25, 60)

            def act(s: Scene) -> None:
                s.order(key).amend(reason=reason, requested_date=s.day(days))

        self.w.step(p.track, (0.5, 3), p.sales, "amend", act, reason)

    def _confirm(self, p: Profile, *, invoice_prepayment: bool) -> None:
        rng, key, c = self.rng, p.track.key, p.client
        lead = rng.randint(20, 75) if c.export else rng.randint(12, 45)
        percent = Decimal(rng.choice((0, 30, 50) if c.export else (0, 0, 30)))
        method = rng.choice(
            ("letter_of_credit", "bank_transfer")
            if c.export
            else ("bank_transfer", "online", "cheque")
        )
        terms = PaymentTerms(method, rng.choice((30, 45, 60)), percent)
        p.prepay = percent
        info = {"title": c.customer.name}
        if not c.export and c.customer.name.endswith(
            "公司"
        ):  # a firm's VAT invoice needs its tax id
            info["tax_id"] = f"91{rng.randint(10**15, 10**16 - 1)}"
        special = rng.choice(("", "", "外箱印客户 logo", "木箱包装，防潮", "每箱附装箱单"))
        contract = f"HT-{rng.randint(10000, 99999)}"
        self.w.step(p.track, (0.3, 3), p.sales, "confirm", lambda s: s.order(key).confirm(
            promised_date=s.day(lead), payment_terms=terms, invoice_info=info,
            special_requirements=special, contract_ref=contract))  # fmt: skip
        if invoice_prepayment and percent:
            making.prepayment(self.w, p)

    def _hold(self, p: Profile, reason: str) -> None:
        key = p.track.key
        self.w.step(p.track, (0.5, 4), p.sales, "hold", lambda s: s.order(key).hold(reason), reason)

    def _cancel(self, p: Profile, *, archive: bool) -> None:
        key = p.track.key
        reason = self.rng.choice(("客户取消采购计划", "价格未达成一致", "客户改从其他供应商采购"))
        self.w.step(
            p.track, (0.5, 5), p.sales, "cancel", lambda s: s.order(key).cancel(reason), reason
        )
        if archive:
            self.w.step(
                p.track,
                (3, 20),
                p.merchandiser,
                "archive",
                lambda s: s.order(key).archive(f"AR-{s.at:%Y%m}-{s.order(key).number}"),
            )


def _products(rng: random.Random, count: int) -> list[cat.Product]:
    """``count`` products, of one family where it has that many: a customer
    buying lighting buys more lighting (so each family keeps its own year)."""
    first = rng.choice(cat.PRODUCTS)
    kin = [p for p in cat.PRODUCTS if p.family == first.family and p is not first]
    chosen = rng.sample(kin, min(count - 1, len(kin)))
    if len(chosen) < count - 1:
        others = [p for p in cat.PRODUCTS if p.family != first.family]
        chosen += rng.sample(others, count - 1 - len(chosen))
    return [first, *chosen]


def _round_quantity(quantity: int) -> int:
    """Customers order round numbers of cheap goods."""
    for step in (100, 50, 10):
        if quantity >= step * 10:
            return quantity - quantity % step
    return quantity


def _partition(rng: random.Random, lines: list[Line], parts: int) -> list[list[SkuQty]]:
    """Cut the lines into ``parts`` non-empty parts that add up exactly."""
    if len(lines) >= parts:
        shuffled = rng.sample(lines, len(lines))
        groups: list[list[SkuQty]] = [[] for _ in range(parts)]
        for i, line in enumerate(shuffled):
            groups[i % parts].append(SkuQty(line.sku, line.quantity))
        return groups
    line = lines[0]
    cuts = sorted(rng.sample(range(1, line.quantity), parts - 1))
    bounds = [0, *cuts, line.quantity]
    return [
        [SkuQty(line.sku, bounds[i + 1] - bounds[i])]
        + [SkuQty(other.sku, other.quantity) for other in lines[1:] if i == 0]
        for i in range(parts)
    ]


def _split_act(key: str, child_keys: list[str], parts: list[list[SkuQty]]) -> Act:
    def act(s: Scene) -> None:
        parent = s.order(key)
        numbers = [f"{parent.number}-{i}" for i in range(1, len(parts) + 1)]
        children = parent.split(
            [(order_id_for(n), n, part) for n, part in zip(numbers, parts, strict=True)]
        )
        for child_key, child in zip(child_keys, children, strict=True):
            s.add(child_key, child)

    return act


def _merge_act(keys: list[str], result_key: str) -> Act:
    def act(s: Scene) -> None:
        sources = [s.order(key) for key in keys]
        number = s.new_number()
        s.add(result_key, Order.merge(sources, order_id=order_id_for(number), number=number))

    return act
