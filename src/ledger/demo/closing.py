"""After delivery: complaints and compensation, the final invoice and credit
notes, payments, settlement and the archive."""

from __future__ import annotations

from decimal import Decimal

from ledger.aggregates.values import SkuQty, round_money
from ledger.demo.making import finance, on, pay
from ledger.demo.plan import CENT, Profile, Scene, Writer


def complaint(w: Writer, p: Profile, what: tuple[str, str]) -> None:
    cid, contact = p.next_id("CP"), p.client.delivery.phone
    channel = w.rng.choice(("phone", "email"))
    w.step(
        p.track,
        (0.5, 5),
        p.sales,
        "file_complaint",
        on(
            p.track.key,
            "file_complaint",
            complaint_id=cid,
            channel=channel,
            category=what[0],
            description=what[1],
            contact=contact,
        ),
    )
    p.open_complaints.append(cid)


def after_delivery(w: Writer, p: Profile, *, closing: bool) -> None:
    """Complaints and compensation once the goods are in; ``closing`` clears all."""
    rng, key = w.rng, p.track.key
    if rng.random() < 0.12:
        complaint(
            w,
            p,
            rng.choice(
                (
                    ("交期延误", "实际到货晚于承诺日期"),
                    ("规格不符", "部分产品规格与合同不一致"),
                    ("发票信息", "发票抬头有误"),
                )
            ),
        )
    for issue_id in list(p.open_issues):
        if closing or rng.random() < 0.6:
            share = Decimal(rng.randint(2, 6)) / 100

            def resolve(s: Scene, issue_id: str = issue_id, share: Decimal = share) -> None:
                order = s.order(key)
                amount = max(CENT, round_money(order.delivered_value * share, order.currency))
                order.resolve_quality_issue(
                    issue_id=issue_id,
                    resolution="compensation",
                    amount=amount,
                    note="按货值比例补偿",
                )

            w.step(p.track, (1, 6), p.merchandiser, "resolve_quality_issue", resolve)
            p.open_issues.remove(issue_id)
            p.compensations.append(issue_id)
    for cid in list(p.open_complaints):
        if closing or rng.random() < 0.6:
            resolution = rng.choice(("补发配件", "给予折扣", "更换产品", "解释说明并致歉"))
            feedback = rng.choice(("满意", "基本满意", "希望后续改进包装"))
            w.step(
                p.track,
                (1, 8),
                p.sales,
                "resolve_complaint",
                on(
                    key,
                    "resolve_complaint",
                    complaint_id=cid,
                    resolution=resolution,
                    customer_feedback=feedback,
                ),
            )
            p.open_complaints.remove(cid)


def bill(w: Writer, p: Profile, *, pay_part: bool) -> None:
    """Invoice everything delivered, credit the compensation, maybe a first payment."""
    key, number = p.track.key, f"INV-{w.rng.randint(10**7, 10**8 - 1)}"

    def invoice(s: Scene) -> None:
        order = s.order(key)
        lines = [
            SkuQty(sku, ln.shipped - ln.invoiced)
            for sku, ln in order.lines.items()
            if ln.shipped > ln.invoiced
        ]
        amount = order.shipped_value - order.invoiced_amount
        order.invoice(invoice_number=number, amount=amount, issued_on=s.day(), lines=lines)

    w.step(p.track, (1, 5), finance(w), "invoice", invoice)
    for i, issue_id in enumerate(p.compensations, start=1):

        def credit(s: Scene, issue_id: str = issue_id, i: int = i) -> None:
            order = s.order(key)
            amount = order.quality_issues[issue_id].amount
            order.issue_credit_note(
                credit_note_number=f"CN-{number[4:]}-{i}",
                amount=amount,
                reason=f"质量问题补偿（{issue_id}）",
                invoice_number=number,
            )

        w.step(p.track, (1, 4), finance(w), "issue_credit_note", credit)
    if pay_part:
        pay(w, p, (5, 30), half=True)


def settle(w: Writer, p: Profile) -> None:
    w.step(p.track, (0.5, 3), finance(w), "settle", on(p.track.key, "settle"))


def archive(w: Writer, p: Profile) -> None:
    key = p.track.key
    for cid in p.open_complaints:
        w.step(
            p.track,
            (1, 5),
            p.sales,
            "resolve_complaint",
            on(key, "resolve_complaint", complaint_id=cid, resolution="回访确认已解决"),
        )
    p.open_complaints.clear()

    def archive(s: Scene) -> None:
        order = s.order(key)
        order.archive(f"AR-{s.at:%Y%m}-{order.number}")

    w.step(p.track, (3, 30), p.merchandiser, "archive", archive)
