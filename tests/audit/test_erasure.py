"""After a customer is erased no stored byte, export, replay or view holds their
phone, email or addresses, while the chain verifies and the figures stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from audit_helpers import five_event_order, make_ledger
from psycopg import sql

from ledger.aggregates.readout import describe
from ledger.aggregates.values import ERASED, Customer, Delivery
from ledger.application import Ctx, Ledger
from ledger.audit.erasure import erase_customer
from ledger.audit.export import export_lines
from ledger.audit.replay import replay
from ledger.audit.restore import rebuild_projections
from ledger.audit.service import verify_store
from ledger.settings import Settings

EVE = Customer("Eve Trading Co", "+86 139 5555 0199", "eve.secret@example.org", "88 Hidden Lane")
EVE_DELIVERY = Delivery("99 Secret Road", "Eve Consignee", "+86 139 4444 0188", "road")
SECRETS = [
    "5555 0199",
    "eve.secret@example.org",
    "Hidden Lane",
    "Secret Road",
    "Eve Consignee",
    "4444 0188",
]


def eve_order(ledger: Ledger) -> UUID:
    order = five_event_order(ledger, EVE)
    ledger.amend(Ctx(), order, reason="new dock", delivery=EVE_DELIVERY)
    return order


def raw_store(settings: Settings) -> bytes:
    """Every byte the store keeps: SQLite's files, or every PostgreSQL table as text."""
    target = settings.database
    if target.backend == "sqlite":
        folder = Path(target.path).parent
        return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    url = settings.database_url.split("?")[0]
    chunks: list[bytes] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (target.schema,)
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(target.schema, table))
            chunks.extend(row[0].encode() for row in conn.execute(query))
    return b"\n".join(chunks)


def leaks(data: bytes) -> list[str]:
    found = [s for s in SECRETS if s.encode() in data]
    # bytea columns read as hex in PostgreSQL's text form
    return found + [s for s in SECRETS if s.encode().hex().encode() in data]


def test_personal_data_is_never_stored_in_clear(sql_settings: Settings) -> None:
    ledger = make_ledger(sql_settings)
    order = eve_order(ledger)
    rebuild_projections(ledger)
    assert ledger.get_order(order).customer == EVE  # readable while the key lives
    assert leaks(raw_store(sql_settings)) == []
    ledger.close()


def figures(state: dict[str, Any]) -> Any:
    return state["facets"], state["lines"], state["promises"], state["created_at"]


def test_erasure_leaves_no_trace_and_keeps_the_chain_and_the_figures(
    sql_settings: Settings,
) -> None:
    ledger = make_ledger(sql_settings)
    order, other = eve_order(ledger), five_event_order(ledger)
    before = describe(ledger.get_order(order))

    assert erase_customer(ledger, EVE.name) == [order]

    fresh = make_ledger(sql_settings)  # no cached aggregates or keys
    for app in (ledger, fresh):
        after = app.get_order(order)
        assert (after.customer.name, after.customer.phone, after.customer.email) == (
            EVE.name,
            ERASED,
            ERASED,
        )
        assert after.delivery.consignee == ERASED
        assert figures(describe(after)) == figures(before)
        assert app.get_order(order, version=3).customer.address == ERASED
    assert type(fresh.events.get(order, gt=6).__next__()).__name__ == "PersonalDataErased"
    assert fresh.get_order(other).customer.phone != ERASED
    report = verify_store(fresh)
    assert report.ok and report.orders == 2

    rebuild_projections(fresh)
    exported = b"".join(export_lines(fresh, [order]))
    replayed = str(replay(fresh, order).as_json()).encode()
    assert leaks(exported) == leaks(replayed) == leaks(raw_store(sql_settings)) == []
    fresh.close()
    ledger.close()
