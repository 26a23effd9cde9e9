"""Making the goods: the prepayment, purchases, production progress,
quality issues, and reserving stock for the shipments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ledger.aggregates.values import PurchaseItem, round_money
from ledger.demo import catalogue as cat
from ledger.demo.plan import Act, Profile, Scene, Writer


def on(key: str, method: str, **kwargs: object) -> Act:
    """A step that calls one command on one order with fixed arguments."""

    def act(s: Scene) -> None:
        getattr(s.order(key), method)(**kwargs)

    return act


def warehouse(w: Writer) -> str:
    return f"{w.rng.choice(cat.WAREHOUSE)} (warehouse)"


def finance(w: Writer) -> str:
    return f"{w.rng.choice(cat.FINANCE)} (finance)"


def prepayment(w: Writer, p: Profile) -> None:
    """Invoice the agreed prepayment share and (usually) collect it."""
    key, number = p.track.key, f"INV-P{w.rng.randint(10**7, 10**8 - 1)}"

    def invoice(s: Scene) -> None:
        order = s.order(key)
        amount = order.prepayment_limit()
        order.invoice(invoice_number=number, amount=amount, issued_on=s.day())

    w.step(p.track, (0.2, 2), finance(w), "invoice", invoice)
    if w.rng.random() < 0.8:
        pay(w, p, (2, 10), half=False)


def produce(w: Writer, p: Profile, *, only: bool) -> None:
    """Buy parts and make the goods; a fifth come from stock instead."""
    rng, key = w.rng, p.track.key
    if not only and rng.random() < 0.2:
        return
    p.produced = True
    if rng.random() < 0.5:
        po = f"PO-{rng.randint(100000, 999999)}"
        units = p.lines[0].quantity
        parts = rng.sample(cat.PARTS, rng.randint(1, 2))
        items = [PurchaseItem(name, units, Decimal(cost)) for name, cost in parts]
        eta, supplier = rng.randint(7, 20), rng.choice(cat.SUPPLIERS)
        w.step(
            p.track,
            (0.5, 3),
            p.merchandiser,
            "order_purchase",
            lambda s: s.order(key).order_purchase(
                po_number=po, supplier=supplier, items=items, eta=s.day(eta)
            ),
        )
        p.open_purchases.append((po, units * len(items)))
    steps = sorted(
        rng.sample(cat.PRODUCTION_STEPS, rng.randint(1 if only else 2, 3)), key=lambda x: x[1]
    )
    for stage, percent in steps:
        w.step(
            p.track,
            (2, 8),
            p.merchandiser,
            "progress_production",
            on(key, "progress_production", stage=stage, percent=percent),
        )
    if rng.random() < 0.15:
        raise_issue(w, p, during_production=True)
    if rng.random() < 0.2:
        days, reason = (
            rng.randint(5, 20),
            rng.choice(("供应商电机延期交货", "产线排期调整", "客户追加验货要求")),
        )

        def promise(s: Scene) -> None:
            order = s.order(key)
            base = max(order.latest_promise or s.day(), s.day())
            order.promise_date(base + timedelta(days=days), reason)

        w.step(p.track, (0.5, 3), p.sales, "promise_date", promise, reason)


def raise_issue(w: Writer, p: Profile, *, during_production: bool) -> None:
    rng, key = w.rng, p.track.key
    issue_id = p.next_id("QI")
    if during_production:
        severity = rng.choices(("minor", "major", "critical"), weights=(40, 40, 20))[0]
        category, text = rng.choice(
            (
                ("外观", "表面划痕、喷涂不均"),
                ("尺寸", "安装孔位偏差 0.5mm"),
                ("功能", "抽检 5% 通电不良"),
                ("包装", "彩盒印刷错版"),
            )
        )
    else:
        severity, category, text = "major", "运输破损", "到货外箱破损，部分产品变形"
    sku = rng.choice(p.lines).sku
    w.step(
        p.track,
        (1, 5),
        p.merchandiser,
        "raise_quality_issue",
        on(
            key,
            "raise_quality_issue",
            issue_id=issue_id,
            severity=severity,
            category=category,
            description=text,
            sku=sku,
        ),
    )
    p.open_issues.append(issue_id)


def prepare(w: Writer, p: Profile, *, will_ship: bool) -> None:
    """Receive parts, clear quality issues, finish production, reserve stock."""
    rng, key = w.rng, p.track.key
    for po, units in p.open_purchases:
        rejected = rng.choice((0, 0, 0, units // 20))
        w.step(
            p.track,
            (5, 15),
            warehouse(w),
            "receive_purchase",
            on(
                key,
                "receive_purchase",
                po_number=po,
                accepted=units - rejected,
                rejected=rejected,
                note="来料检验" if rejected else "",
            ),
        )
    p.open_purchases.clear()
    for issue_id in p.open_issues:
        resolution = rng.choice(("repair", "exchange"))
        w.step(
            p.track,
            (1, 4),
            p.merchandiser,
            "resolve_quality_issue",
            on(
                key,
                "resolve_quality_issue",
                issue_id=issue_id,
                resolution=resolution,
                note="返工后复检合格",
            ),
        )
    p.open_issues.clear()
    if p.produced:
        w.step(
            p.track, (1, 4), p.merchandiser, "complete_production", on(key, "complete_production")
        )
    p.ship = {line.sku: line.quantity for line in p.lines}
    candidates = [line for line in p.lines if line.quantity >= 10]
    if will_ship and candidates and rng.random() < 0.08:
        line = rng.choice(candidates)
        p.short = (line.sku, max(1, int(line.quantity * rng.uniform(0.05, 0.2))))
        p.ship[line.sku] -= p.short[1]
    _allocate(w, p)


def _allocate(w: Writer, p: Profile) -> None:
    rng, key = w.rng, p.track.key
    for i, (sku, quantity) in enumerate(p.ship.items()):
        home, other = rng.sample(cat.WAREHOUSES, 2)
        if i == 0 and rng.random() < 0.1:
            # Reserved in the wrong warehouse first, then moved: a common slip.
            w.step(
                p.track,
                (0.1, 1),
                warehouse(w),
                "allocate_stock",
                on(key, "allocate_stock", sku=sku, quantity=quantity, warehouse=other),
            )
            w.step(
                p.track,
                (0.1, 1),
                warehouse(w),
                "release_stock",
                on(key, "release_stock", sku=sku, quantity=quantity, warehouse=other),
            )
        w.step(
            p.track,
            (0.1, 1),
            warehouse(w),
            "allocate_stock",
            on(key, "allocate_stock", sku=sku, quantity=quantity, warehouse=home),
        )


def pay(w: Writer, p: Profile, gap: tuple[float, float], *, half: bool) -> None:
    """The customer pays what is outstanding (or half of it) by bank reference."""
    key, reference = p.track.key, f"BANK-{w.rng.randint(10**9, 10**10 - 1)}"

    def act(s: Scene) -> None:
        order = s.order(key)
        amount = order.outstanding
        if half:
            amount = round_money(amount / 2, order.currency)
        order.receive_payment(reference=reference, amount=amount, received_on=s.day())

    w.step(p.track, gap, finance(w), "receive_payment", act)
