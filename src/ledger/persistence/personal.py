"""Personal data stored encrypted with a key per customer, so erasure is destroying a key.

Which fields are personal is declared next to each event, value and state
class (``ledger.aggregates.privacy``). On the way to the store every such
field is sealed by AES-GCM under its customer's key from
``ledger_customer_keys``:

- ``Customer`` (phone, email, address) and ``Delivery`` (address,
  consignee, phone) by their own transcodings, their personal fields
  sealed together;
- every other personal text — an event's reasons, notes, descriptions,
  invoice details, labels, its metadata's reason, and the same fields of
  the state classes in a snapshot — wrapped as ``PersonalText`` (the mapper
  wraps events and a snapshot's top level, ``SealedFields`` the state
  classes) and sealed one text at a time.

Events, snapshots and whatever is derived from them therefore hold only
ciphertext. Once the key is destroyed those fields decode as
``"[erased]"`` (empty ones stay empty), while the stored bytes — and so the
hash chain — are unchanged.

A ``Delivery`` or a reason does not name its customer, so
``PersonalDataMapper`` tells the transcodings whose order an event belongs
to (learnt from each order's first event or snapshot, both of which carry
the customer).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoding

from ledger.aggregates.order import Order
from ledger.aggregates.privacy import Privacy, privacy_of
from ledger.aggregates.state import STATE_TYPES
from ledger.aggregates.values import ERASED, VALUE_TYPES, Customer, Delivery
from ledger.persistence.key_tables import key_table_for
from ledger.transcodings import DataclassAsDict

# Other processes see an erasure within this many seconds (their cached keys expire).
KEY_CACHE_SECONDS = 30.0
CIPHERS_KEPT = 10_000
UNOWNED = ""  # the key of deliveries whose order is unknown (should not happen)
# The order in which a customer's and a delivery's personal fields are sealed
# together: the stored format, fixed (a test holds it to the declarations).
CUSTOMER_SEALED = ("phone", "email", "address")
DELIVERY_SEALED = ("address", "consignee", "phone")

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
        # Ciphers of keys in use (building one per field opened cost more than
        # the decryption); keyed by the key itself, so an erased key is never
        # reached again through ``key``.
        self._ciphers: dict[bytes, AESGCM] = {}

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

    def prefetch(self, customers: Iterable[str]) -> None:
        """Have these customers' keys cached, those not cached now read in one
        query (a feed page's customers, rather than one query each)."""
        now = time.monotonic()
        with self._lock:
            missing = [
                name
                for name in dict.fromkeys(customers)
                if (cached := self._cache.get(name)) is None or now - cached[1] >= KEY_CACHE_SECONDS
            ]
        if not missing:
            return
        found = key_table_for(self._app()).get_many(missing)
        now = time.monotonic()
        with self._lock:
            for name, key in found.items():
                self._cache[name] = (key, now)

    def erase(self, customer: str, orders: Sequence[UUID] = ()) -> None:
        """Destroy the key; and the fingerprints of the commands on ``orders``."""
        key_table_for(self._app()).destroy(customer, [str(order) for order in orders])
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
        return self._open(self._cipher(key), owner, sealed, count)

    def seal_as_is(self, owner: str, data: bytes) -> str:
        """``data`` sealed under ``owner``'s key, made by no one here: ``""``
        if the key is gone (erased). For what is derived from data sealed
        under it already (the feed's read model)."""
        key = self.key(owner, create=False)
        if key is None:
            return ""
        nonce = os.urandom(12)
        data = self._cipher(key).encrypt(nonce, data, owner.encode())
        return base64.b64encode(nonce + data).decode()

    def opener(self) -> Callable[[str, str], bytes | None]:
        """Opens what ``seal_as_is`` sealed (``None`` once erased), for a
        batch read at one moment (a feed page): each owner's key looked up
        once in it."""
        ciphers: dict[str, AESGCM | None] = {}

        def open_(owner: str, sealed: str) -> bytes | None:
            if owner in ciphers:
                cipher = ciphers[owner]
            else:
                key = self.key(owner, create=False)
                cipher = ciphers[owner] = self._cipher(key) if key is not None else None
            if cipher is None or not sealed:
                return None
            raw = base64.b64decode(sealed)
            try:
                opened: bytes = cipher.decrypt(raw[:12], raw[12:], owner.encode())
            except InvalidTag:  # sealed under a key since destroyed and replaced
                return None
            return opened

        return open_

    def _cipher(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= CIPHERS_KEPT:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    @staticmethod
    def _open(cipher: AESGCM, owner: str, sealed: str, count: int) -> list[str]:
        raw = base64.b64decode(sealed)
        try:
            fields: list[str] = orjson.loads(cipher.decrypt(raw[:12], raw[12:], owner.encode()))
        except InvalidTag:  # sealed under a key since destroyed and replaced
            return [ERASED] * count
        return fields


def _mask(flags: list[bool]) -> str:
    return "".join("1" if flag else "0" for flag in flags)


def _seal_group(keys: PersonalKeys, owner: str, fields: list[str]) -> dict[str, str]:
    """Fields sealed together; which of them are blank stays readable when
    some are, so an erased blank field still reads blank. Fields already
    erased (an erased order's snapshot) are not sealed: that would make the
    customer a new key for nothing."""
    if ERASED in fields and all(field in ("", ERASED) for field in fields):
        return {"pii": "", "erased": _mask([field == ERASED for field in fields])}
    sealed = {"pii": keys.seal(owner, fields)}
    if any(fields) and not all(fields):
        sealed["blank"] = _mask([not field for field in fields])
    return sealed


def _open_group(keys: PersonalKeys, owner: str, data: dict[str, str], count: int) -> list[str]:
    fields = keys.open(owner, data["pii"], count)
    blank, erased = data.get("blank", ""), data.get("erased", "")
    for i in range(count):
        if erased[i : i + 1] == "1":
            fields[i] = ERASED
        elif blank[i : i + 1] == "1":
            fields[i] = ""
    return fields


class CustomerSealed(Transcoding):
    type = Customer
    name = "customer_sealed"

    def __init__(self, keys: PersonalKeys) -> None:
        self.keys = keys

    def encode(self, obj: Customer) -> dict[str, str]:
        fields = [getattr(obj, name) for name in CUSTOMER_SEALED]
        return {"name": obj.name, **_seal_group(self.keys, obj.name, fields)}

    def decode(self, data: dict[str, str]) -> Customer:
        phone, email, address = _open_group(self.keys, data["name"], data, 3)
        return Customer(data["name"], phone, email, address)


class DeliverySealed(Transcoding):
    type = Delivery
    name = "delivery_sealed"

    def __init__(self, keys: PersonalKeys) -> None:
        self.keys = keys

    def encode(self, obj: Delivery) -> dict[str, str]:
        owner = _owner.get() or UNOWNED
        fields = [getattr(obj, name) for name in DELIVERY_SEALED]
        return {"owner": owner, "mode": obj.transport_mode, **_seal_group(self.keys, owner, fields)}

    def decode(self, data: dict[str, str]) -> Delivery:
        address, consignee, phone = _open_group(self.keys, data["owner"], data, 3)
        return Delivery(address, consignee, phone, data["mode"])


class PersonalText:
    """A personal text on its way to be stored: sealed, never written in clear."""

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


def sealable(value: Any) -> Any:
    """A personal value with each text wrapped as ``PersonalText``, but for
    blank ones and those already erased (nothing to keep secret)."""
    if isinstance(value, str):
        return PersonalText(value) if value and value != ERASED else value
    if isinstance(value, list):
        return [sealable(item) for item in value]
    if isinstance(value, dict):
        return {key: sealable(item) for key, item in value.items()}
    return value


def with_personal_sealed(values: dict[str, Any], privacy: Privacy) -> dict[str, Any]:
    """``values`` (a class's fields by name) with its personal ones sealable."""
    sealed = dict(values)
    for name, keys in privacy.fields().items():
        value = sealed.get(name)
        if keys and isinstance(value, dict):
            sealed[name] = {k: sealable(v) if k in keys else v for k, v in value.items()}
        elif not keys:
            sealed[name] = sealable(value)
    return sealed


class SealedFields(DataclassAsDict):
    """A value or state class whose personal fields are sealed; same name,
    same decoding as the plain ``DataclassAsDict``."""

    def __init__(self, cls: type) -> None:
        super().__init__(cls)
        self.privacy = privacy_of(cls)

    def encode(self, obj: Any) -> dict[str, Any]:
        return with_personal_sealed(super().encode(obj), self.privacy)


def register_personal_transcodings(transcoder: JSONTranscoder, keys: PersonalKeys) -> None:
    """Registered after the plain ones: encoding uses these, old data still decodes."""
    transcoder.register(CustomerSealed(keys))
    transcoder.register(DeliverySealed(keys))
    transcoder.register(PersonalTextSealed(keys))
    for cls in (*VALUE_TYPES, *STATE_TYPES):
        if cls not in (Customer, Delivery) and privacy_of(cls).personal:
            transcoder.register(SealedFields(cls))


def _with_personal_sealed(domain_event: Any) -> Any:
    """A copy of the event (or an order's snapshot) with its personal fields sealable."""
    state = vars(domain_event)
    cls: type = type(domain_event)
    if isinstance(domain_event, Snapshot):
        copied = dict(state)
        copied["state"] = with_personal_sealed(state["state"], privacy_of(Order))
    else:
        privacy = privacy_of(cls)
        if not privacy.personal:
            return domain_event
        copied = with_personal_sealed(state, privacy)
    copy: Any = object.__new__(cls)
    object.__setattr__(copy, "__dict__", copied)
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
            return super().to_stored_event(_with_personal_sealed(domain_event))

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        self._learn(event)
        return event


# -- sealed texts in read models ---------------------------------------------------

SEALED_MARK = "\x1f"
"""Starts a sealed text as read models keep it: never the start of a text a
client can send (control characters are refused)."""


def sealed_token(data: dict[str, str]) -> str:
    """A ``PersonalText``'s stored form as a read model keeps it (``""`` if blank)."""
    return f"{SEALED_MARK}{data['owner']}{SEALED_MARK}{data['pii']}" if data["pii"] else ""


def open_sealed(value: Any, keys: PersonalKeys) -> Any:
    """``value`` (a read model's answer) with every sealed text opened: its
    text while the customer's key lives, ``"[erased]"`` after."""
    if isinstance(value, str):
        if not value.startswith(SEALED_MARK):
            return value
        owner, mark, pii = value[1:].rpartition(SEALED_MARK)
        try:
            return keys.open(owner, pii, 1)[0] if mark else ERASED
        except (ValueError, InvalidTag):  # not a sealed text after all
            return ERASED
    if isinstance(value, list):
        return [open_sealed(item, keys) for item in value]
    if isinstance(value, dict):
        return {key: open_sealed(item, keys) for key, item in value.items()}
    return value
