"""The ledger application: every command loads an order, calls it, saves it.

One attribute per command. Each takes a ``Ctx`` (who, why, correlation,
idempotency key, expected version) and returns a ``Result`` with the
order's new state, its version and the position of the last event written.
Receiving, splitting and merging are methods here; every other command is an
``OrderCommand`` declared by the ``Order`` method it runs.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, cast, overload
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper
from eventsourcing.utils import Environment, EnvType

from ledger.aggregates.base import OrderEvent
from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.values import (
    Customer,
    Delivery,
    Line,
    SkuQty,
)
from ledger.canonical import canonical_json
from ledger.clock import Clock, SystemClock
from ledger.persistence import IdempotencyKeyConflict, IdempotencyRecord, LedgerRecorder
from ledger.persistence.creation import create_racing
from ledger.persistence.personal import (
    PersonalDataMapper,
    PersonalKeys,
    register_personal_transcodings,
)
from ledger.persistence.records import ERASED_FINGERPRINT
from ledger.settings import Settings, eventsourcing_env, get_settings
from ledger.transcodings import register_domain_transcodings

ORDER_NAMESPACE = UUID("5b0e8f0e-6c1e-4d0b-9a57-1ed6e2a0c0de")
SAVE_ATTEMPTS = 5
START_ATTEMPTS = 10


class LedgerError(Exception):
    """An application-level refusal (not a business guard)."""

    code = "ledger_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class OrderNotFound(LedgerError):
    code = "order_not_found"


class StaleVersion(LedgerError):
    """The command was based on a version that is no longer current."""

    code = "stale_version"


class IdempotencyKeyReused(LedgerError):
    """The same idempotency key came with a different command."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Ctx:
    """Who asks, why, and under which guarantees.

    ``idempotency_scope`` names the caller whose ``idempotency_key`` it is
    (the API sets it from the token): the same key from two callers is two
    keys, so no caller can claim or read another's recorded answer.
    """

    actor: str = "system"
    correlation_id: str = ""
    causation_id: str = ""
    reason: str = ""
    occurred_at: datetime | None = None
    idempotency_key: str = ""
    expected_version: int | None = None
    idempotency_scope: str = ""

    @property
    def scoped_key(self) -> str:
        """The key as stored: the scope, a space (never in a client's key), the key."""
        if not self.idempotency_scope:
            return self.idempotency_key
        return f"{self.idempotency_scope} {self.idempotency_key}"

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "actor": self.actor,
            "correlation_id": self.correlation_id or str(uuid4()),
            "causation_id": self.causation_id,
        }
        if self.reason:
            meta["reason"] = self.reason
        if self.occurred_at is not None:
            meta["occurred_at"] = self.occurred_at.isoformat()
        if self.idempotency_key:
            meta["idempotency_key"] = self.idempotency_key
        return meta


@dataclass(frozen=True)
class Result:
    """What a command returns: the order as it now is."""

    order: Order
    position: int | None = None
    replayed: bool = False
    others: list[Order] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.order.version


@dataclass(frozen=True)
class HistoryEntry:
    """One stored event as an auditor reads it."""

    type: str
    version: int
    recorded_at: datetime
    meta: dict[str, Any]
    payload: dict[str, Any]


def order_id_for(number: str) -> UUID:
    """Order ids are derived from their unique numbers, so a number finds its order."""
    return uuid5(ORDER_NAMESPACE, number)


P = ParamSpec("P")


class OrderCommand(Generic[P]):
    """A command of one existing order, declared by ``Order``'s own method.

    ``verify = OrderCommand(Order.verify)`` in ``Ledger`` makes
    ``ledger.verify(ctx, order_id, checks=..., problems=...)``: load the order,
    check the expected version, call ``Order.verify`` with the arguments
    given, save, retry a lost race. The parameters after ``ctx`` and
    ``order_id`` are the method's own (``ParamSpec``), so mypy checks every
    caller against the aggregate's signature. The command's name is the
    method's name; the idempotency fingerprint is made of the arguments
    bound to the method's signature, defaults applied.
    """

    def __init__(self, method: Callable[Concatenate[Order, P], object]) -> None:
        self.method = method
        self.name: str = method.__name__
        self.signature = inspect.signature(method)
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if name != self.name:
            raise TypeError(f"{owner.__name__}.{name} declares Order.{self.name}: use one name")

    @overload
    def __get__(self, ledger: None, owner: type[Any]) -> OrderCommand[P]: ...
    @overload
    def __get__(self, ledger: Ledger, owner: type[Any]) -> BoundCommand[P]: ...
    def __get__(self, ledger: Ledger | None, owner: type[Any]) -> OrderCommand[P] | BoundCommand[P]:
        return self if ledger is None else BoundCommand(self, ledger)

    def arguments(self, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        """The arguments by parameter name, defaults applied (what a fingerprint holds)."""
        bound = self.signature.bind(None, *args, **kwargs)  # None stands for the order
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments[next(iter(self.signature.parameters))]
        return arguments

    def fingerprint(self, ctx: Ctx, order_id: UUID, *args: P.args, **kwargs: P.kwargs) -> str:
        """What tells a repeat of this command from another use of ``ctx``'s key."""
        if not ctx.idempotency_key:
            return ""
        return _fingerprint(ctx, self.name, order_id, self.arguments(*args, **kwargs))


class BoundCommand(Generic[P]):
    """An ``OrderCommand`` of one ledger, ready to be called."""

    __slots__ = ("command", "ledger")

    def __init__(self, command: OrderCommand[P], ledger: Ledger) -> None:
        self.command = command
        self.ledger = ledger

    def __call__(self, ctx: Ctx, order_id: UUID, /, *args: P.args, **kwargs: P.kwargs) -> Result:
        command = self.command

        def act(order: Order) -> list[Order]:
            command.method(order, *args, **kwargs)
            return []

        fingerprint = command.fingerprint(ctx, order_id, *args, **kwargs)
        return self.ledger._run(ctx, order_id, fingerprint, act)


class Ledger(Application[UUID]):
    """The order follow-up service."""

    name = "ledger"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Order: 50}

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or get_settings()
        self.clock: Clock = clock or SystemClock()
        self._number_lock = threading.Lock()
        env = eventsourcing_env(self.settings)
        env.setdefault("AGGREGATE_CACHE_MAXSIZE", "2000")
        # Fast-forward (the library's default, stated here because reads rely
        # on it): a cached order is brought up to date with one query for the
        # events after its version, so writes of other processes are seen.
        env.setdefault("AGGREGATE_CACHE_FASTFORWARD", "y")
        type(self).snapshotting_intervals = {Order: self.settings.snapshot_interval}
        # A second uvicorn worker may be creating the same tables right now.
        create_racing(lambda: super(Ledger, self).__init__(env=env), attempts=START_ATTEMPTS)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Only our settings configure the store: nothing leaks in from the shell.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        # Knows each order's customer, whose key seals its deliveries' personal data.
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=PersonalDataMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)
        # Personal fields are sealed with their customer's key (see ledger.persistence.personal).
        self.personal_keys = PersonalKeys(lambda: self)
        register_personal_transcodings(transcoder, self.personal_keys)

    # -- reads --------------------------------------------------------------

    def get_order(
        self, order_id: UUID, *, version: int | None = None, as_of: datetime | None = None
    ) -> Order:
        """The order now, at a version, or as it was at a recorded moment."""
        if as_of is not None:
            return self._order_as_of(order_id, as_of)
        try:
            order: Order = self.repository.get(order_id, version=version)
        except AggregateNotFoundError:
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id)) from None
        if version is not None and order.version != version:
            raise OrderNotFound(
                f"order {order_id} has no version {version}", order_id=str(order_id)
            )
        return order

    def find_by_number(self, number: str) -> Order:
        return self.get_order(order_id_for(number))

    def history(
        self, order_id: UUID, *, after: int = 0, limit: int | None = None
    ) -> list[HistoryEntry]:
        """The order's events after version ``after`` (at most ``limit`` of them;
        all by default), oldest first, with their metadata."""
        events = self.events.get(order_id, gt=after or None, limit=limit)
        entries = [_history_entry(event) for event in events]
        if not entries and (not after or not self._exists(order_id)):
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
        return entries

    def _exists(self, order_id: UUID) -> bool:
        return any(True for _ in self.events.get(order_id, limit=1))

    def _order_as_of(self, order_id: UUID, as_of: datetime) -> Order:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        order: Order | None = None
        for event in self.events.get(order_id):
            stored: OrderEvent = event  # type: ignore[assignment]
            if stored.timestamp > as_of:
                break
            order = stored.mutate(order)
        if order is None:
            raise OrderNotFound(
                f"order {order_id} did not exist at {as_of.isoformat()}", order_id=str(order_id)
            )
        return order

    # -- receiving, split, merge --------------------------------------------

    def receive(
        self,
        ctx: Ctx,
        *,
        channel: str,
        customer: Customer,
        lines: Sequence[Line],
        delivery: Delivery,
        currency: str = "CNY",
        requested_date: date | None = None,
    ) -> Result:
        """A new order: validated, numbered by the system, recorded."""
        args: dict[str, Any] = dict(
            channel=channel,
            customer=customer,
            lines=list(lines),
            delivery=delivery,
            currency=currency,
            requested_date=requested_date,
        )
        fingerprint = _fingerprint(ctx, "receive", None, args)
        repeat = self._repeat(ctx, fingerprint)
        if repeat is not None:
            return repeat
        Order.check_receipt(channel, customer, lines, currency, delivery, requested_date)
        now = self.clock.now()
        number = self.allocate_number(now.year)
        with stamped(Stamp(now, ctx.meta())):
            order = Order.receive(order_id=order_id_for(number), number=number, **args)
        return self._save(ctx, fingerprint, order, [order])

    def split(self, ctx: Ctx, order_id: UUID, parts: Sequence[Sequence[SkuQty]]) -> Result:
        """Close the order into children numbered <number>-1, <number>-2..."""

        def act(order: Order) -> list[Order]:
            children = [
                (order_id_for(f"{order.number}-{i}"), f"{order.number}-{i}", part)
                for i, part in enumerate(parts, start=1)
            ]
            return order.split(children)

        return self._command(ctx, order_id, "split", {"parts": [list(p) for p in parts]}, act)

    def merge(self, ctx: Ctx, order_ids: Sequence[UUID]) -> Result:
        """Close orders of one customer into a new one; all saved together."""
        fingerprint = _fingerprint(ctx, "merge", None, {"order_ids": [str(i) for i in order_ids]})

        def attempts() -> Result:
            for attempt in range(SAVE_ATTEMPTS):
                sources = [self.get_order(oid) for oid in order_ids]
                Order.check_merge(sources)
                now = self.clock.now()
                number = self.allocate_number(now.year)
                with stamped(Stamp(now, ctx.meta())):
                    merged = Order.merge(sources, order_id=order_id_for(number), number=number)
                try:
                    return self._save(ctx, fingerprint, merged, [merged, *sources])
                except _Retry:
                    if attempt == SAVE_ATTEMPTS - 1:
                        raise StaleVersion("the orders kept changing; try again") from None
            raise AssertionError("unreachable")

        return self._once(ctx, fingerprint, attempts)

    # -- commands of one order: each is ``Order``'s own method -------------------

    verify = OrderCommand(Order.verify)
    amend = OrderCommand(Order.amend)
    confirm = OrderCommand(Order.confirm)
    promise_date = OrderCommand(Order.promise_date)
    schedule_shipment = OrderCommand(Order.schedule_shipment)
    reschedule_shipment = OrderCommand(Order.reschedule_shipment)
    allocate_stock = OrderCommand(Order.allocate_stock)
    release_stock = OrderCommand(Order.release_stock)
    order_purchase = OrderCommand(Order.order_purchase)
    receive_purchase = OrderCommand(Order.receive_purchase)
    progress_production = OrderCommand(Order.progress_production)
    complete_production = OrderCommand(Order.complete_production)
    raise_quality_issue = OrderCommand(Order.raise_quality_issue)
    resolve_quality_issue = OrderCommand(Order.resolve_quality_issue)
    pack = OrderCommand(Order.pack)
    issue_document = OrderCommand(Order.issue_document)
    change_document_status = OrderCommand(Order.change_document_status)
    dispatch = OrderCommand(Order.dispatch)
    short_close = OrderCommand(Order.short_close)
    update_transit = OrderCommand(Order.update_transit)
    deliver = OrderCommand(Order.deliver)
    invoice = OrderCommand(Order.invoice)
    issue_credit_note = OrderCommand(Order.issue_credit_note)
    receive_payment = OrderCommand(Order.receive_payment)
    settle = OrderCommand(Order.settle)
    file_complaint = OrderCommand(Order.file_complaint)
    resolve_complaint = OrderCommand(Order.resolve_complaint)
    hold = OrderCommand(Order.hold)
    release = OrderCommand(Order.release)
    cancel = OrderCommand(Order.cancel)
    archive = OrderCommand(Order.archive)
    # Records that the customer's personal-data key was destroyed (see ledger.audit.erasure).
    erase_personal_data = OrderCommand(Order.erase_personal_data)

    # -- machinery ------------------------------------------------------------------

    def allocate_numbers(self, year: int, count: int) -> list[str]:
        """A block of consecutive order numbers in one transaction (bulk loads)."""
        last = cast(LedgerRecorder, self.recorder).allocate_order_number(year, count)
        return [f"SO-{year}-{n:06d}" for n in range(last - count + 1, last + 1)]

    def allocate_number(self, year: int) -> str:
        """The next human-readable order number of the year, e.g. SO-2026-000123."""
        sequence = cast(LedgerRecorder, self.recorder).allocate_order_number(year)
        return f"SO-{year}-{sequence:06d}"

    def _command(
        self,
        ctx: Ctx,
        order_id: UUID,
        name: str,
        args: dict[str, Any],
        act: Callable[[Order], list[Order]],
    ) -> Result:
        """Load, check the expected version, act, save; retry a lost race
        unless the caller named the version it saw."""
        fingerprint = _fingerprint(ctx, name, order_id, args)
        return self._run(ctx, order_id, fingerprint, act)

    def _run(
        self, ctx: Ctx, order_id: UUID, fingerprint: str, act: Callable[[Order], list[Order]]
    ) -> Result:
        return self._once(ctx, fingerprint, lambda: self._attempts(ctx, order_id, fingerprint, act))

    def _once(self, ctx: Ctx, fingerprint: str, run: Callable[[], Result]) -> Result:
        """Run a command unless its idempotency key already has a result."""
        repeat = self._repeat(ctx, fingerprint)
        if repeat is not None:
            return repeat
        try:
            return run()
        except (DomainError, StaleVersion):
            # The first attempt with this key may have committed after the
            # check above: its result, not a refusal, is the answer.
            repeat = self._repeat(ctx, fingerprint)
            if repeat is not None:
                return repeat
            raise

    def _attempts(
        self, ctx: Ctx, order_id: UUID, fingerprint: str, act: Callable[[Order], list[Order]]
    ) -> Result:
        for attempt in range(SAVE_ATTEMPTS):
            order = self.get_order(order_id)
            self._check_version(ctx, order)
            with stamped(Stamp(self.clock.now(), ctx.meta())):
                others = act(order)
            try:
                return self._save(ctx, fingerprint, order, [order, *others])
            except _Retry:
                if ctx.expected_version is not None:
                    raise StaleVersion(
                        "the order changed since the version given",
                        expected=ctx.expected_version,
                    ) from None
                if attempt == SAVE_ATTEMPTS - 1:
                    raise StaleVersion("the order kept changing; try again") from None
        raise AssertionError("unreachable")

    def _check_version(self, ctx: Ctx, order: Order) -> None:
        if ctx.expected_version is not None and ctx.expected_version != order.version:
            raise StaleVersion(
                f"the order is at version {order.version}, not {ctx.expected_version}",
                expected=ctx.expected_version,
                actual=order.version,
            )

    def _save(self, ctx: Ctx, fingerprint: str, result: Order, orders: list[Order]) -> Result:
        pending = sum(len(o.pending_events) for o in orders)
        record = None
        if ctx.idempotency_key:
            record = IdempotencyRecord(
                key=ctx.scoped_key,
                fingerprint=fingerprint,
                order_id=str(result.id),
                version=result.version,
                recorded_at=self.clock.now(),
            )
        events = [event for order in orders for event in order.pending_events]
        try:
            recordings = self.save(*orders, idempotency=record)
        except IdempotencyKeyConflict:
            repeat = self._repeat(ctx, fingerprint)
            if repeat is None:  # pragma: no cover - the key was there a moment ago
                raise
            return repeat
        except IntegrityError:
            if self._already_stored(events):
                return Result(order=result, others=orders[1:])
            raise _Retry from None
        assert pending == len(recordings)
        position = recordings[-1].notification.id if recordings else None
        return Result(order=result, position=position, others=orders[1:])

    def _already_stored(self, events: list[Any]) -> bool:
        """Whether these very events are in the store: a save whose COMMIT
        went through while its reply was lost, sent again by the library's
        retry, conflicts with itself. Without an idempotency key, the events'
        own content (recording time, correlation id and payload alike) tells
        it from another command's save of the same versions."""
        if not events:
            return False
        by_order: dict[UUID, list[Any]] = {}
        for event in events:
            by_order.setdefault(event.originator_id, []).append(event)
        for originator, mine in by_order.items():
            first, last = mine[0].originator_version, mine[-1].originator_version
            stored = self.recorder.select_events(originator, gt=first - 1, lte=last)
            if [self.mapper.to_domain_event(s) for s in stored] != mine:
                return False
        return True

    def _repeat(self, ctx: Ctx, fingerprint: str) -> Result | None:
        """The first result again for a repeated key; refuse a reused one.

        Once the order's personal data is erased, so is the fingerprint: any
        command with the key then gets the recorded result (the key still
        records the command at most once)."""
        if not ctx.idempotency_key:
            return None
        record = self._recorded(ctx)
        if record is None:
            return None
        if record.fingerprint not in (fingerprint, ERASED_FINGERPRINT):
            raise IdempotencyKeyReused(
                "this idempotency key was used for a different command",
                key=ctx.idempotency_key,
            )
        order = self.get_order(UUID(record.order_id), version=record.version)
        return Result(order=order, replayed=True)

    def _recorded(self, ctx: Ctx) -> IdempotencyRecord | None:
        """The record of the caller's key. One recorded before keys were
        scoped (under the bare key) counts only for the actor whose command
        recorded it; for anyone else the key is free."""
        recorder = cast(LedgerRecorder, self.recorder)
        record = recorder.find_idempotency(ctx.scoped_key)
        if record is None and ctx.idempotency_scope:
            legacy = recorder.find_idempotency(ctx.idempotency_key)
            if legacy is not None and self._recorded_by(legacy, ctx.actor):
                return legacy
        return record

    def _recorded_by(self, record: IdempotencyRecord, actor: str) -> bool:
        order, version = UUID(record.order_id), record.version
        events = list(self.events.get(order, gt=version - 1, lte=version))
        return bool(events) and getattr(events[0], "meta", {}).get("actor") == actor


class _Retry(Exception):
    """A concurrent writer got there first."""


def _fingerprint(ctx: Ctx, name: str, order_id: UUID | None, args: dict[str, Any]) -> str:
    """What tells a repeat of a command from another use of its idempotency key;
    only a command with a key needs one (canonical JSON is not free)."""
    if not ctx.idempotency_key:
        return ""
    text = canonical_json({"command": name, "order_id": str(order_id or ""), "args": args})
    return hashlib.sha256(text.encode()).hexdigest()


def _history_entry(event: Any) -> HistoryEntry:
    payload = {
        key: value
        for key, value in vars(event).items()
        if key
        not in ("originator_id", "originator_version", "timestamp", "meta", "originator_topic")
    }
    return HistoryEntry(
        type=type(event).__name__,
        version=event.originator_version,
        recorded_at=event.timestamp,
        meta=dict(getattr(event, "meta", {})),
        payload=payload,
    )


__all__ = [
    "Ctx",
    "DomainError",
    "HistoryEntry",
    "IdempotencyKeyReused",
    "Ledger",
    "LedgerError",
    "OrderNotFound",
    "Result",
    "StaleVersion",
    "order_id_for",
]
