"""Idempotency fingerprints recorded before commands were declared by
``Order``'s methods (``OrderCommand``) still match: a client repeating a
request with its key gets the recorded answer, not ``idempotency_key_reused``.

Every hash below was computed by the code that spelled each command out in
``Ledger`` and dispatched it by name; none is computed here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import pytest

from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, PurchaseItem, SkuQty
from ledger.application import Ctx, Ledger, OrderCommand
from ledger.clock import SimulatedClock
from ledger.persistence import LedgerRecorder
from ledger.settings import Settings

OID = UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
CTX = Ctx(actor="alice", idempotency_key="k-1", idempotency_scope="name:alice")

# (command, arguments, the fingerprint recorded for them before the change)
RECORDED: list[tuple[str, dict[str, Any], str]] = [
    (
        "verify",
        dict(checks={"customer": True, "product": True, "delivery": False}, problems=["no phone"]),
        "7922ad0179f63b8488d9f12955a3ec81a64a4481f4c3bbb69ed9d26691cc4288",
    ),
    (
        "verify",
        dict(checks={"customer": True, "product": True, "delivery": True}),
        "8c8c15b5f9d4b6c6ac6b35c1aa502e2455ac2f8e228780a5c5461b271e837827",
    ),
    (
        "amend",
        dict(reason="customer asked", requested_date=date(2026, 3, 1)),
        "24c51248cb8a2ef99d29e9be66a7e4a985538b18f8ae97094e1d507aa365bf29",
    ),
    (
        "confirm",
        dict(
            promised_date=date(2026, 3, 9),
            payment_terms=PaymentTerms("bank_transfer", 30, D("30")),
            invoice_info={},
            special_requirements="",
            contract_ref="",
        ),
        "5793498ebcec06e9f4694902cf08526306b92bf839f9d31f513a2b64bee2be3f",
    ),
    (
        "confirm",
        dict(
            promised_date=date(2026, 3, 9),
            payment_terms=PaymentTerms("bank_transfer", 30, D(0)),
            invoice_info={"A-1": "VAT 13%"},
            special_requirements="blue 订单",
            contract_ref="C-9",
        ),
        "e77d996f79409369cbcb3e12588bd79b4932df2ab2868b7220cf17c496e4981b",
    ),
    (
        "promise_date",
        dict(promised_date=date(2026, 4, 1), reason="late parts"),
        "7ff8e3d7322c386a7e414535ca30fd377d4aaffbf6929abd2bd0e8ba4f5fc8c4",
    ),
    (
        "schedule_shipment",
        dict(
            shipment_id="SH-1",
            planned_date=date(2026, 3, 5),
            lines=[SkuQty("A-1", 2)],
            carrier="",
            mode="road",
        ),
        "792757ca56eca39e30fe1757afa115672a6b7b71039356c5cfcf7d6863af5205",
    ),
    (
        "schedule_shipment",
        dict(
            shipment_id="SH-2",
            planned_date=date(2026, 3, 5),
            lines=[SkuQty("A-1", 2)],
            carrier="SF",
            mode="air",
            estimated_cost=D("12.50"),
            export=True,
        ),
        "af59ea71fa565dfcfff139f41d92fb42e5ff1da124e903c86a0b2025f52ff631",
    ),
    (
        "reschedule_shipment",
        dict(shipment_id="SH-1", planned_date=date(2026, 3, 7), reason="rain"),
        "18579b456a17525790717c30bceb572f04d04bcfeac5f6f2439f72d9021ba225",
    ),
    (
        "allocate_stock",
        dict(sku="A-1", quantity=3, warehouse="W1"),
        "c33f15822f11e15a22a85c587cf0bd301d49b677611a6c4f838349c30d8b8b79",
    ),
    (
        "release_stock",
        dict(sku="A-1", quantity=1, warehouse="W1"),
        "3e0c140ed8081d06e1d4acff1f07147fb8093f29e59a8e4258e6e39a5dd0d908",
    ),
    (
        "order_purchase",
        dict(po_number="PO-1", supplier="Acme", items=[PurchaseItem("bolt", 10, D("0.10"))]),
        "4f89b43aa1df5c4cfbe0ff64e1ae02f7427499c1d550bb97f9e4b9d3c19b66a9",
    ),
    (
        "receive_purchase",
        dict(po_number="PO-1", accepted=9),
        "4d2bcba8e96742d5624ac20c505b2dac11c44069c48cb05a053abb73db24d2ec",
    ),
    (
        "progress_production",
        dict(stage="cutting", percent=40),
        "0e57249c7c680cd9bd4d75a32c93e2489d32d2a1b8890d31affd12163017ce1c",
    ),
    (
        "complete_production",
        dict(),
        "762e558bdab4740869fbe3f92f8643b6c4195ec76870c2d21700a6532e7ce6d2",
    ),
    (
        "raise_quality_issue",
        dict(issue_id="QI-1", severity="critical", category="paint", description="scratched"),
        "0460b9b242eedef4689012882531b43e3b27fbf097bc6c251050ec6209879606",
    ),
    (
        "resolve_quality_issue",
        dict(issue_id="QI-1", resolution="repair"),
        "e16b4c398756e8a304dea231c7bafa65a79c57d415d80d3d09fef98d49372250",
    ),
    (
        "resolve_quality_issue",
        dict(issue_id="QI-1", resolution="compensation", amount=D("5.00"), note="ok"),
        "0e4d07f96e65484923c03339d0f2fd4e8471925f07d812f624f540ecf94146c9",
    ),
    (
        "pack",
        dict(shipment_id="SH-1", packages=2),
        "b3ef0d340eb656cf4527c5bd973ae3d2ad0d3a84ed0e2751b458d3fd593aeba4",
    ),
    (
        "pack",
        dict(shipment_id="SH-1", packages=2, materials="carton", labels=["fragile"]),
        "49ad9ed6483e691909cad47256fe25aadd871a6df9d1f5635c29afe4cb4b69d9",
    ),
    (
        "issue_document",
        dict(shipment_id="SH-1", kind="invoice", number="CI-1"),
        "463c51cd41637a3ab7e90a0e13a3f4404ea402dbed70af863e1f874f378caf1e",
    ),
    (
        "change_document_status",
        dict(shipment_id="SH-1", kind="invoice", status="reviewed"),
        "fa070b1792cf02a653464ccc0890d210b7d996277cbfdda10950ce3baa254c13",
    ),
    (
        "dispatch",
        dict(shipment_id="SH-1", tracking_number="T-1"),
        "c00d87c72d6094f624d4c25c03952997c17f9ddfe6023999fc351a2c04c99c8b",
    ),
    (
        "dispatch",
        dict(shipment_id="SH-1", tracking_number="T-1", lines=[SkuQty("A-1", 1)], carrier="SF"),
        "5910d8f16f6c6b44ba01d3c3d38ef0c22531ea242de73b42a55320e4d00abbbe",
    ),
    (
        "short_close",
        dict(sku="A-1", quantity=1, reason="discontinued"),
        "ded125ae8872712aabb102dc43bd046c072edab16714464134b91c4f5f28f783",
    ),
    (
        "update_transit",
        dict(shipment_id="SH-1", status="delayed"),
        "56038118e36ba95f4b5e966be8a4b91b82e304c8eb255ba343e5696d9ef1540e",
    ),
    (
        "deliver",
        dict(shipment_id="SH-1", received_by="王五"),
        "1416cb896c19f9d025423f3faa90aba3ed3ed6c9f12ff8aebdf509f134cf6cb5",
    ),
    (
        "invoice",
        dict(invoice_number="INV-1", amount=D("100.0"), issued_on=date(2026, 3, 10)),
        "6f2aef80e417bf73b017f8e2593af920ee59096d841f8fdbc3494338499e30c8",
    ),
    (
        "invoice",
        dict(
            invoice_number="INV-2",
            amount=D("100"),
            issued_on=date(2026, 3, 10),
            lines=[SkuQty("A-1", 1)],
        ),
        "f4075bb2eb599a2a19c6986d0fe07ed2ab350b1ac0179ee40e4579bcd0dc4998",
    ),
    (
        "issue_credit_note",
        dict(credit_note_number="CN-1", amount=D("10"), reason="damaged"),
        "b199af8db253b4530abdfa8d7a42c3c7add54bc9f087deb1ffe9de5d8d543322",
    ),
    (
        "receive_payment",
        dict(reference="P-1", amount=D("90.00"), received_on=date(2026, 3, 20)),
        "4df1f5e2abbe9396069ddcd4abc42ad5206efbdac86a02a79b15c261ad478339",
    ),
    ("settle", dict(), "9c5251ff3e6cdc3b8ca32642996f3cf76b20c1136c8d24334333fb3c5a1d092e"),
    (
        "file_complaint",
        dict(complaint_id="C-1", channel="phone", category="late", description="where is it"),
        "0e0ca93e184d254b6505b1ea0a49f5d4b4c9f654922ce0f34944f3e1f69f6c2e",
    ),
    (
        "resolve_complaint",
        dict(complaint_id="C-1", resolution="apologised"),
        "153164165eae6fd319c8dd2bbcc74e1be5c6359f136139a6612bc4af1c01e311",
    ),
    (
        "hold",
        dict(reason="credit check"),
        "95d956d6e5fe49dd2cce6e4662ba40d63d2ef17255096bbb5128f7bceae16562",
    ),
    (
        "release",
        dict(reason="paid"),
        "f025a4b98023c8867681ce9006c431d211c1aa1b9ac045e2d5a50f750b6e2898",
    ),
    (
        "cancel",
        dict(reason="customer"),
        "c0f26ef0b1787fb31a8de5c5a0c0d8cd52cc97e8dfad13b2884432e2200c996b",
    ),
    (
        "archive",
        dict(archive_ref="box 7"),
        "42b13adfa640fe7339a4dd77f1c598f12bca7da4af490ebaf94b70620a5b7121",
    ),
    (
        "erase_personal_data",
        dict(),
        "daf120893f5d6a108db491ddb9345443f79b1fab3102477e4a14847f8bd6ec0b",
    ),
]


@pytest.mark.parametrize(("name", "arguments", "recorded"), RECORDED)
def test_a_fingerprint_recorded_before_still_matches(
    name: str, arguments: dict[str, Any], recorded: str
) -> None:
    command = getattr(Ledger, name)
    assert isinstance(command, OrderCommand)
    assert command.fingerprint(CTX, OID, **arguments) == recorded


def test_every_order_command_has_a_recorded_fingerprint() -> None:
    declared = {n for n, v in vars(Ledger).items() if isinstance(v, OrderCommand)}
    assert declared == {name for name, _, _ in RECORDED}


def test_defaults_are_part_of_the_fingerprint_and_arguments_are_not_interchangeable() -> None:
    pack = Ledger.pack
    assert pack.fingerprint(CTX, OID, shipment_id="S", packages=1) == pack.fingerprint(
        CTX, OID, shipment_id="S", packages=1, materials="", labels=()
    )
    assert pack.fingerprint(CTX, OID, shipment_id="S", packages=1) != pack.fingerprint(
        CTX, OID, shipment_id="S", packages=2
    )
    assert pack.fingerprint(Ctx(), OID, shipment_id="S", packages=1) == ""


def test_the_store_records_the_same_fingerprints_as_before() -> None:
    """Receive, verify, confirm and split with keys on a fresh store, as before the change."""
    clock = SimulatedClock(datetime(2026, 1, 5, 8, tzinfo=UTC), timedelta(seconds=1))
    ledger = Ledger(Settings(database_url="memory://"), clock)
    try:

        def ctx(key: str) -> Ctx:
            return Ctx(actor="alice", idempotency_key=key, idempotency_scope="name:alice")

        order = ledger.receive(
            ctx("r"),
            channel="email",
            customer=Customer("王小明", "138", "w@example.cn", "上海"),
            lines=[Line("A", "杯", 2, D("2.50")), Line("B", "套", 4, D("10.00"))],
            delivery=Delivery("上海市", "李四", "139", "road"),
            requested_date=date(2026, 3, 1),
        ).order
        assert str(order.id) == "33939621-aa10-5487-a96a-0d1dcfe4ef7d"
        ledger.verify(
            ctx("v"), order.id, checks={"customer": True, "product": True, "delivery": True}
        )
        ledger.confirm(
            ctx("c"),
            order.id,
            promised_date=date(2026, 3, 9),
            payment_terms=PaymentTerms("bank_transfer", 30, D(0)),
            invoice_info={},
        )
        ledger.split(ctx("s"), order.id, [[SkuQty("A", 2)], [SkuQty("B", 4)]])
        recorder = ledger.recorder
        assert isinstance(recorder, LedgerRecorder)
        recorded = {
            "r": "d2f00906a23820f46caaa356442da455db5a8dadcc506280d00debe04115e729",
            "v": "a36f12c894ee3e73e93a273b5854bd2ac6b9af145e401b8a1f42bf3e8db08a1f",
            "c": "52035abf04fc1df178c7265761cce21b138575d4421fa226ab9b13608de7e741",
            "s": "1737d0b7041cf413187d4ea9057c5a41992ed04ce7b53a3e72f55a3940f68ae2",
        }
        for key, fingerprint in recorded.items():
            record = recorder.find_idempotency(f"name:alice {key}")
            assert record is not None and record.fingerprint == fingerprint, key
        again = ledger.verify(
            ctx("v"), order.id, checks={"customer": True, "product": True, "delivery": True}
        )
        assert again.replayed
    finally:
        ledger.close()
