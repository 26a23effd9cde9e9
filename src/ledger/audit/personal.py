"""Personal data stored encrypted with a key per customer, so erasure is destroying a key.

``Customer`` (phone, email, address) and ``Delivery`` (address, consignee,
phone) are transcoded with their personal fields sealed by AES-GCM under
their customer's key from ``ledger_customer_keys``; the customer's name,
the transport mode and everything else stay readable. Events, snapshots and
whatever is derived from them therefore hold only ciphertext. Once the key
is destroyed those fields decode as ``"[erased]"``, while the stored bytes —
and so the hash chain — are unchanged.

Free-text personal fields outside those values — a complaint's ``contact``
and a delivery's ``received_by``, in their events and in the order's state
— are wrapped as ``PersonalText`` on the way out (the mapper does it for
events, the state's transcodings for snapshots) and sealed the same way;
they decode back to plain strings, or ``"[erased]"``.

A ``Delivery`` does not name its customer, so ``PersonalDataMapper`` tells
the transcoding whose order an event belongs to (learnt from each order's
first event or snapshot, both of which carry the customer).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoding

from ledger.aggregates.state import ComplaintState, ShipmentState
from ledger.aggregates.values import ERASED, Customer, Delivery
from ledger.audit.key_tables import key_table_for
from ledger.transcodings import DataclassAsDict

# Other processes see an erasure within this many seconds (their cached keys expire).
KEY_CACHE_SECONDS = 30.0
UNOWNED = ""  # the key of deliveries whose order is unknown (should not happen)

_owner: ContextVar[str | None] = ContextVar("ledger_personal_owner", default=None)


@contextmanager
def owned_by(name: str | None) -> Iterator[None]:
    token = _owner.set(name)
    try:
        yield
    finally:
        _owner.reset(token)


class PersonalKeys:
    """Per-customer keys: created on first use, cached briefly, destroyed on erasure."""

    def __init__(self, app: Callable[[], Any]) -> None:
        self._app = app
        self._cache: dict[str, tuple[bytes | None, float]] = {}
        self._lock = threading.Lock()

    def key(self, customer: str, *, create: bool) -> bytes | None:
        """The customer's key; ``None`` once erased (or never made, unless ``create``)."""
        with self._lock:
            cached = self._cache.get(customer)
            if (
                cached
                and (cached[0] or not create)
                and time.monotonic() - cached[1] < KEY_CACHE_SECONDS
            ):
                return cached[0]
        table = key_table_for(self._app())
        key = table.get(customer)
        if key is None and create:
            key = table.create(customer, AESGCM.generate_key(bit_length=256))
        with self._lock:
            self._cache[customer] = (key, time.monotonic())
        return key

    def erase(self, customer: str) -> None:
        key_table_for(self._app()).destroy(customer)
        with self._lock:
            self._cache[customer] = (None, time.monotonic())

    def seal(self, owner: str, fields: list[str]) -> str:
        if not any(fields):
            return ""
        key = self.key(owner, create=True)
        assert key is not None
        nonce = os.urandom(12)
        data = AESGCM(key).encrypt(nonce, json.dumps(fields).encode(), owner.encode())
        return base64.b64encode(nonce + data).decode()

    def open(self, owner: str, sealed: str, count: int) -> list[str]:
        if not sealed:
            return [""] * count
        key = self.key(owner, create=False)
        if key is None:
            return [ERASED] * count
        raw = base64.b64decode(sealed)
        try:
            fields: list[str] = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], owner.encode()))
        except InvalidTag:  # sealed under a key since destroyed and replaced
            return [ERASED] * count
        return fields


class CustomerSealed(Transcoding):
    type = Customer
    name = "customer_sealed"

    def __init__(self, keys: PersonalKeys) -> None:
        self.keys = keys

    def encode(self, obj: Customer) -> dict[str, str]:
        return {
            "name": obj.name,
            "pii": self.keys.seal(obj.name, [obj.phone, obj.email, obj.address]),
        }

    def decode(self, data: dict[str, str]) -> Customer:
        phone, email, address = self.keys.open(data["name"], data["pii"], 3)
        return Customer(data["name"], phone, email, address)


class DeliverySealed(Transcoding):
    type = Delivery
    name = "delivery_sealed"

    def __init__(self, keys: PersonalKeys) -> None:
        self.keys = keys

    def encode(self, obj: Delivery) -> dict[str, str]:
        owner = _owner.get() or UNOWNED
        fields = [obj.address, obj.consignee, obj.phone]
        return {"owner": owner, "mode": obj.transport_mode, "pii": self.keys.seal(owner, fields)}

    def decode(self, data: dict[str, str]) -> Delivery:
        address, consignee, phone = self.keys.open(data["owner"], data["pii"], 3)
        return Delivery(address, consignee, phone, data["mode"])


class PersonalText:
    """A personal free-text field on its way to be stored: sealed, never written in clear."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class PersonalTextSealed(Transcoding):
    """``PersonalText`` sealed under its order's customer key; decodes to the plain string."""

    type = PersonalText
    name = "personal_text"

    def __init__(self, keys: PersonalKeys) -> None:
        self.keys = keys

    def encode(self, obj: PersonalText) -> dict[str, str]:
        owner = _owner.get() or UNOWNED
        return {"owner": owner, "pii": self.keys.seal(owner, [obj.text])}

    def decode(self, data: dict[str, str]) -> str:
        return self.keys.open(data["owner"], data["pii"], 1)[0]


# Personal free-text fields: of events by class name, and of the order's state.
PERSONAL_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "ComplaintFiled": ("contact",),
    "ShipmentDelivered": ("received_by",),
}
PERSONAL_STATE_FIELDS: dict[type, tuple[str, ...]] = {
    ComplaintState: ("contact",),
    ShipmentState: ("received_by",),
}


class StateWithPersonalText(DataclassAsDict):
    """A state dataclass whose personal fields are sealed; same name, same decoding."""

    def __init__(self, cls: type, fields: tuple[str, ...]) -> None:
        super().__init__(cls)
        self.personal = fields

    def encode(self, obj: Any) -> dict[str, Any]:
        data = super().encode(obj)
        for name in self.personal:
            if isinstance(data[name], str):
                data[name] = PersonalText(data[name])
        return data


def register_personal_transcodings(transcoder: JSONTranscoder, keys: PersonalKeys) -> None:
    """Registered after the plain ones: encoding uses these, old data still decodes."""
    transcoder.register(CustomerSealed(keys))
    transcoder.register(DeliverySealed(keys))
    transcoder.register(PersonalTextSealed(keys))
    for cls, fields in PERSONAL_STATE_FIELDS.items():
        transcoder.register(StateWithPersonalText(cls, fields))


def _with_personal_text(domain_event: Any) -> Any:
    """A copy of the event with its personal free-text fields wrapped for sealing."""
    fields = PERSONAL_EVENT_FIELDS.get(type(domain_event).__name__)
    if not fields:
        return domain_event
    state = dict(vars(domain_event))
    for name in fields:
        if isinstance(state.get(name), str):
            state[name] = PersonalText(state[name])
    copy = object.__new__(type(domain_event))
    object.__setattr__(copy, "__dict__", state)
    return copy


class PersonalDataMapper(Mapper[UUID]):
    """Knows each order's customer, so its deliveries are sealed under the right key."""

    owners: dict[UUID, str]

    def _learn(self, event: Any) -> str | None:
        if not hasattr(self, "owners"):
            self.owners = {}
        customer = getattr(event, "customer", None)
        if customer is None and isinstance(getattr(event, "state", None), dict):
            customer = event.state.get("customer")
        if isinstance(customer, Customer):
            self.owners[event.originator_id] = customer.name
        return self.owners.get(event.originator_id)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        with owned_by(self._learn(domain_event)):
            return super().to_stored_event(_with_personal_text(domain_event))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        self._learn(event)
        return event
