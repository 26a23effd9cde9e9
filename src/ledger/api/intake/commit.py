"""Step two of an import: record a checked file's orders.

All or none: a file with any problem records nothing (``FileHasProblems``).
A valid file's orders are each received by the application's own
``receive`` command, with an idempotency key made of the file's SHA-256 and
the order's customer reference: the same file sent again records nothing
new and each of its orders answers with the order first recorded. The
orders go in from as many threads as the store is worth (its recorder's
``concurrent_saves``): on PostgreSQL sixteen, so the group commit writes
many of them per transaction; on SQLite two, for a single writer (sixteen
threads there only queued for its lock, and under load one of them could
wait past the connection pool's five seconds: a 503 half-way through).

Should the store fail half-way, the orders already written stay written;
sending the same file again records the rest and nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import cast

from ledger.api.intake.checking import Intake
from ledger.api.intake.orders import Draft
from ledger.application import Ctx, Ledger
from ledger.persistence.records import LedgerRecorder

Progress = Callable[[int, int], None]


class FileHasProblems(ValueError):
    """Only a file without a single problem is recorded."""


@dataclass(frozen=True)
class Outcome:
    """What became of one order of the file."""

    ref: str
    row: int
    recorded: bool  # False: an earlier upload of this same file recorded it
    number: str
    order_id: str
    total: Decimal
    currency: str


def idempotency_key(file_sha256: str, ref: str) -> str:
    """The order's key: the file's content hash and its customer reference."""
    return f"import:{file_sha256}:{hashlib.sha256(ref.encode()).hexdigest()[:32]}"


def commit_file(
    ledger: Ledger, ctx: Ctx, intake: Intake, progress: Progress | None = None
) -> list[Outcome]:
    """Receive every order of the file (in file order in the answer)."""
    if not intake.valid:
        raise FileHasProblems(f"{len(intake.problems)} problem(s): nothing is recorded")
    base = replace(
        ctx,
        correlation_id=ctx.correlation_id or f"import-{intake.sha256[:32]}",
        expected_version=None,
    )
    total = len(intake.drafts)
    writers = cast(LedgerRecorder, ledger.recorder).concurrent_saves
    with ThreadPoolExecutor(writers, thread_name_prefix="ledger-import") as pool:
        futures = [pool.submit(_receive, ledger, base, intake, d) for d in intake.drafts]
        try:
            return [_done(future, index, total, progress) for index, future in enumerate(futures)]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _done(future: Future[Outcome], index: int, total: int, progress: Progress | None) -> Outcome:
    outcome = future.result()
    if progress is not None:
        progress(index + 1, total)
    return outcome


def _receive(ledger: Ledger, base: Ctx, intake: Intake, draft: Draft) -> Outcome:
    body = draft.body
    ctx = replace(
        base,
        idempotency_key=idempotency_key(intake.sha256, draft.ref),
        reason=base.reason or f"imported from a file; customer reference {draft.ref}",
    )
    result = ledger.receive(
        ctx,
        channel=body.channel,
        customer=body.customer.value(),
        lines=[line.value() for line in body.lines],
        delivery=body.delivery.value(),
        currency=body.currency,
        requested_date=body.requested_date,
    )
    order = result.order
    return Outcome(
        draft.ref, draft.rows[0], not result.replayed, order.number, str(order.id),
        order.total, order.currency,
    )  # fmt: skip
