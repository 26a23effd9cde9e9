"""Editing the store behind the service's back is found and named (order, version)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from audit_helpers import Tamper, five_event_order, make_ledger

from ledger.application import Ctx, Ledger
from ledger.audit.rows import Packed, merged_orders
from ledger.audit.service import seal, verify_store
from ledger.audit.store import open_store
from ledger.audit.verify import Finding
from ledger.persistence.chain import GENESIS, link_hash
from ledger.settings import Settings

EVENTS = "stored_events"


@pytest.fixture
def ledger(sql_settings: Settings) -> Iterator[Ledger]:
    app = make_ledger(sql_settings)
    yield app
    app.close()


@pytest.fixture
def tamper(sql_settings: Settings) -> Tamper:
    return Tamper(sql_settings)


@pytest.fixture
def orders(ledger: Ledger) -> list[UUID]:
    """Three orders of five events each, sealed."""
    ids = [five_event_order(ledger) for _ in range(3)]
    seal(ledger)
    return ids


def first(ledger: Ledger) -> Finding:
    report = verify_store(ledger)
    assert not report.ok
    return report.findings[0]


def state_of(tamper: Tamper, order: UUID, version: int) -> bytes:
    (row,) = tamper.run(
        f"SELECT state FROM {EVENTS} WHERE originator_id = ? AND originator_version = ?",
        tamper.oid(order),
        version,
    )
    return bytes(row[0])


def set_state(tamper: Tamper, order: UUID, version: int, state: bytes) -> None:
    tamper.run(
        f"UPDATE {EVENTS} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        state,
        tamper.oid(order),
        version,
    )


def renumber(tamper: Tamper, order: UUID, where: str, to: str) -> None:
    tamper.run(
        f"UPDATE {EVENTS} SET originator_version = {to} WHERE originator_id = ? AND {where}",
        tamper.oid(order),
    )


def test_an_untouched_store_verifies_clean_with_what_was_checked(
    ledger: Ledger, orders: list[UUID]
) -> None:
    report = verify_store(ledger)
    assert report.ok
    assert (report.orders, report.events, report.sealed_orders) == (3, 15, 3)
    assert verify_store(ledger, orders[1]).events == 5


def test_a_changed_event_is_named(ledger: Ledger, orders: list[UUID], tamper: Tamper) -> None:
    state = state_of(tamper, orders[1], 3)
    set_state(tamper, orders[1], 3, state.replace(b"2026", b"2025", 1))
    assert first(ledger) == Finding(
        str(orders[1]), 3, "changed", "the stored event does not match its link"
    )
    assert len(verify_store(ledger).findings) == 1


def test_a_deleted_event_is_named(ledger: Ledger, orders: list[UUID], tamper: Tamper) -> None:
    tamper.run(
        f"DELETE FROM {EVENTS} WHERE originator_id = ? AND originator_version = 3",
        tamper.oid(orders[0]),
    )
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[0]), 3, "deleted")


def test_two_swapped_events_are_named(ledger: Ledger, orders: list[UUID], tamper: Tamper) -> None:
    renumber(tamper, orders[2], "originator_version = 2", "-1")
    renumber(tamper, orders[2], "originator_version = 3", "2")
    renumber(tamper, orders[2], "originator_version = -1", "3")
    report = verify_store(ledger)
    assert [(f.order, f.version, f.kind) for f in report.findings] == [
        (str(orders[2]), 2, "swapped")
    ]


def test_an_appended_event_is_named(ledger: Ledger, orders: list[UUID], tamper: Tamper) -> None:
    tamper.run(
        f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state) "
        f"SELECT originator_id, 6, topic, state FROM {EVENTS} "
        "WHERE originator_id = ? AND originator_version = 4",
        tamper.oid(orders[1]),
    )
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[1]), 6, "inserted")


def test_an_event_inserted_in_the_middle_is_named(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    renumber(tamper, orders[0], "originator_version >= 3", "-(originator_version + 1)")
    renumber(tamper, orders[0], "originator_version < 0", "-originator_version")
    tamper.run(
        f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state) "
        f"SELECT originator_id, 3, topic, state FROM {EVENTS} "
        "WHERE originator_id = ? AND originator_version = 2",
        tamper.oid(orders[0]),
    )
    found = first(ledger)
    assert (found.order, found.version) == (str(orders[0]), 3)


def rewrite_chain(tamper: Tamper, order: UUID, from_version: int) -> None:
    """Recompute the links from ``from_version`` on, as anyone may: sha256 is public."""
    (prev,) = tamper.run(
        "SELECT hash FROM ledger_chain WHERE originator_id = ? AND version = ?",
        tamper.oid(order),
        from_version - 1,
    ) or [(GENESIS,)]
    digest = bytes(prev[0])
    rows = tamper.run(
        f"SELECT originator_version, topic, state FROM {EVENTS} "
        "WHERE originator_id = ? AND originator_version >= ? ORDER BY originator_version",
        tamper.oid(order),
        from_version,
    )
    for version, topic, state in rows:
        digest = link_hash(digest, str(order), version, topic, bytes(state))
        tamper.run(
            "UPDATE ledger_chain SET hash = ? WHERE originator_id = ? AND version = ?",
            digest,
            tamper.oid(order),
            version,
        )


def test_a_chain_rewritten_without_the_key_is_caught_by_the_seal(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    set_state(tamper, orders[1], 3, state_of(tamper, orders[1], 3).replace(b"2026", b"2025", 1))
    rewrite_chain(tamper, orders[1], 3)
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[1]), 5, "chain_rewritten")
    assert "after version 0 up to 5" in found.detail


def test_seals_at_every_version_name_the_exact_rewritten_event(
    ledger: Ledger, tamper: Tamper
) -> None:
    order = five_event_order(ledger)
    seal(ledger)
    for reason in ("again", "and again"):
        ledger.hold(Ctx(), order, reason=reason)
        seal(ledger)
        ledger.release(Ctx(), order, reason=reason)
        seal(ledger)
    set_state(tamper, order, 7, state_of(tamper, order, 7).replace(b"2026", b"2025", 1))
    rewrite_chain(tamper, order, 7)
    found = first(ledger)
    assert (found.version, found.kind) == (7, "chain_rewritten")
    assert "after version 6 up to 7" in found.detail


def test_a_forged_seal_is_named(ledger: Ledger, orders: list[UUID], tamper: Tamper) -> None:
    tamper.run(
        "UPDATE ledger_seals SET hash = ? WHERE originator_id = ?", b"x" * 32, tamper.oid(orders[0])
    )
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[0]), 5, "seal_forged")


def test_a_truncated_tail_before_the_seal_is_named(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    for table, column in ((EVENTS, "originator_version"), ("ledger_chain", "version")):
        tamper.run(
            f"DELETE FROM {table} WHERE originator_id = ? AND {column} >= 4",
            tamper.oid(orders[2]),
        )
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[2]), 4, "deleted")


def test_a_deleted_order_is_named_by_its_seal(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    tamper.run(f"DELETE FROM {EVENTS} WHERE originator_id = ?", tamper.oid(orders[0]))
    tamper.run("DELETE FROM ledger_chain WHERE originator_id = ?", tamper.oid(orders[0]))
    found = first(ledger)
    assert (found.order, found.version, found.kind) == (str(orders[0]), 5, "deleted")


def test_the_packed_reading_equals_the_event_by_event_one_on_a_broken_store(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    """PostgreSQL hands verify each order's events and links packed in one row;
    unpacked, they are exactly the rows read one by one, breaks included."""
    set_state(tamper, orders[0], 2, state_of(tamper, orders[0], 2) + b" ")
    tamper.run(
        f"DELETE FROM {EVENTS} WHERE originator_id = ? AND originator_version = 3",
        tamper.oid(orders[1]),
    )
    tamper.run(
        "DELETE FROM ledger_chain WHERE originator_id = ? AND version = 4", tamper.oid(orders[2])
    )
    with open_store(ledger).snapshot() as snap:
        read = sorted(
            ((o, r.rows() if isinstance(r, Packed) else r) for o, r in snap.orders()),
            key=lambda pair: pair[0],
        )
        one_by_one = list(merged_orders(snap.events(), snap.links()))
    assert read == one_by_one
    assert [len(rows) for _, rows in read] == [5, 5, 5]
    assert {(f.order, f.version, f.kind) for f in verify_store(ledger).findings} == {
        (str(orders[0]), 2, "changed"),
        (str(orders[1]), 3, "deleted"),
        (str(orders[2]), 4, "inserted"),
    }


def test_an_order_whose_events_are_all_gone_but_whose_links_remain_is_named(
    ledger: Ledger, orders: list[UUID], tamper: Tamper
) -> None:
    tamper.run(f"DELETE FROM {EVENTS} WHERE originator_id = ?", tamper.oid(orders[1]))
    with open_store(ledger).snapshot() as snap:
        read = sorted(
            ((o, r.rows() if isinstance(r, Packed) else r) for o, r in snap.orders()),
            key=lambda pair: pair[0],
        )
        one_by_one = list(merged_orders(snap.events(), snap.links()))
    assert read == one_by_one and len(read) == 3
    report = verify_store(ledger)
    assert {(f.order, f.version, f.kind) for f in report.findings} == {
        (str(orders[1]), v, "deleted") for v in range(1, 6)
    }
    assert report.events == 10
