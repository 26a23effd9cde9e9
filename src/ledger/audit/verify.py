"""Checking every order's chain and seals, naming each break by order and version.

The row check compares each event with its own link: ``link[v]`` must be
``hash(link[v-1] ‖ event v)``. It finds a changed, deleted, inserted or
swapped event, and a chain row edited by itself. The seal check recomputes
each order's chain from its events alone and compares it with the heads
sealed under the audit key: it finds events *and* chain rewritten together
(which the row check cannot, the algorithm being public) and a truncated tail.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.audit.keys import key_id, mac_ok
from ledger.audit.rows import Packed, Row, Seal
from ledger.persistence.chain import GENESIS, _framed, link_hash

_VERSION = struct.Struct(">q")
_LENGTH = struct.Struct(">i")
_HASH_LENGTH = struct.pack(">i", len(GENESIS))

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Finding:
    """One break: what happened to which order at which version."""

    order: str
    version: int
    kind: str  # changed | deleted | inserted | swapped | chain_rewritten | seal_forged
    detail: str


@dataclass
class Report:
    """A verification's outcome; ``ok`` when nothing was found.

    ``other_keys`` counts, by key id, the seals made with another key than
    ``key_id``'s: they cannot be checked, and are not called forged.
    """

    orders: int = 0
    events: int = 0
    sealed_orders: int = 0
    unsealed_events: int = 0
    findings: list[Finding] = field(default_factory=list)
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    key_id: str = ""
    other_keys: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.other_keys

    @property
    def verdict(self) -> str:
        """``breaks`` (tampering found), else ``wrong_key``, else ``clean``."""
        return "breaks" if self.findings else "wrong_key" if self.other_keys else "clean"

    def key_statement(self) -> str:
        """The one sentence a check with the wrong key deserves ("" with the right one)."""
        if not self.other_keys:
            return ""
        other = ", ".join(sorted(self.other_keys))
        seals = sum(self.other_keys.values())
        return (
            f"sealed with key {other}, this key is {self.key_id}: {seals} seal(s) not "
            "checked (set LEDGER_AUDIT_KEY to the key that sealed them)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "orders_checked": self.orders,
            "events_checked": self.events,
            "sealed_orders": self.sealed_orders,
            "unsealed_events": self.unsealed_events,
            "findings": [asdict(f) for f in self.findings],
            "key_id": self.key_id,
            "seals_with_other_keys": dict(self.other_keys),
        }


def verify_streams(
    orders: Iterable[tuple[str, list[Row] | Packed]],
    seals: list[Seal],
    key: bytes,
    progress: Progress | None = None,
) -> Report:
    """Check every order of ``orders`` (each with its rows in version order);
    sealed orders with no rows are reported deleted."""
    report = Report(key_id=key_id(key))
    by_order = {o: list(s) for o, s in itertools.groupby(seals, key=lambda s: s.order)}
    for order, order_rows in orders:
        check = OrderCheck(order, order_rows)
        report.other_keys.update(check.check_seals(by_order.pop(order, []), key, report.key_id))
        report.orders += 1
        report.events += check.events
        report.findings.extend(check.findings)
        report.sealed_orders += 1 if check.sealed_version else 0
        report.unsealed_events += check.events_after_seal
        if not check.findings and check.head is not None:
            report.heads[order] = check.head
        if progress is not None:
            progress(check.events)
    for order, lost in by_order.items():
        last = max(s.version for s in lost)
        report.findings.append(
            Finding(order, last, "deleted", "a sealed order has no events or links left")
        )
    report.findings.sort(key=lambda f: (f.order, f.version))
    return report


class OrderCheck:
    """The row and seal checks of one order."""

    def __init__(self, order: str, rows: list[Row] | Packed) -> None:
        self.order = order
        self.findings: list[Finding] = []
        self.computed: dict[int, bytes] = {}
        self.sealed_version = 0
        self.head: tuple[int, bytes] | None = None  # last version and its link
        self.intact = True  # every version 1..n with its link: the fast checks passed
        if isinstance(rows, Packed):
            if self._intact_packed(rows):
                return
            rows = rows.rows()
        self.rows = rows
        if self._intact():
            self.events = self.events_after_seal = len(rows)
            if rows:
                self.head = (rows[-1][0], self.computed[rows[-1][0]])
            return
        self.computed, self.intact = {}, False
        if rows and rows[-1][3] is not None:
            self.head = (rows[-1][0], rows[-1][3])
        self.events = sum(1 for r in rows if r[2] is not None)
        self.events_after_seal = self.events
        self._check_rows()
        self._name_swaps()

    def _intact_packed(self, packed: Packed) -> bool:
        """``_intact`` on COPY tuples, hashing each event's bytes where they lie."""
        if packed.links:
            return False
        sha256, stamp_of, length = hashlib.sha256, _VERSION.pack, _LENGTH.unpack_from
        prefix, prev, computed = _framed(self.order), GENESIS, self.computed
        version = 0
        for data in packed.tuples:
            version += 1
            (size,) = length(data, 34)
            topic_end = 38 + size
            (size,) = length(data, topic_end)
            state_end = topic_end + 4 + size
            if data[26:34] != stamp_of(version) or data[state_end : state_end + 4] != _HASH_LENGTH:
                self.computed = {}
                return False
            # link_hash in one call: prev ‖ order ‖ version ‖ framed topic ‖ state.
            digest = sha256(
                b"".join((prev, prefix, data[26:topic_end], data[topic_end + 4 : state_end]))
            ).digest()
            if digest != data[state_end + 4 :]:
                self.computed = {}
                return False
            computed[version] = prev = digest
        self.events = self.events_after_seal = version
        self.head = (version, prev) if version else None
        return True

    def _intact(self) -> bool:
        """The usual case, checked fast: versions 1..n, each event with its own
        link that its hash matches. Anything else takes the full row check."""
        sha256, version_bytes, framed = hashlib.sha256, _VERSION.pack, _framed
        prefix = framed(self.order)
        prev, computed = GENESIS, self.computed
        for expected, (version, topic, state, digest) in enumerate(self.rows, start=1):
            if version != expected or topic is None or state is None or digest is None:
                return False
            # link_hash, in one call: prev ‖ order ‖ version ‖ topic ‖ state.
            own = sha256(b"".join((prev, prefix, version_bytes(version), framed(topic), state)))
            prev = own.digest()
            if prev != digest:
                return False
            computed[version] = prev
        return True

    def _add(self, version: int, kind: str, detail: str) -> None:
        self.findings.append(Finding(self.order, version, kind, detail))

    def _check_rows(self) -> None:
        prev, computed, expected, after_gap = GENESIS, GENESIS, 1, False
        for version, topic, state, digest in self.rows:
            for missing in range(expected, version):
                self._add(missing, "deleted", "neither the event nor its link is stored")
                after_gap = True
            expected = version + 1
            if state is None or topic is None:
                self._add(version, "deleted", "the chain links an event that is not stored")
                prev, after_gap = digest or GENESIS, False
                continue
            own = link_hash(prev, self.order, version, topic, state)
            # The two agree until something broke: hash once in the usual case.
            same = computed == prev
            computed = own if same else link_hash(computed, self.order, version, topic, state)
            self.computed[version] = computed
            if digest is None:
                self._add(
                    version, "inserted", "the event has no link: the service did not write it"
                )
                prev, after_gap = own, True
                continue
            if own != digest and not after_gap:
                self._add(version, "changed", "the stored event does not match its link")
            prev, after_gap = digest, False

    def _name_swaps(self) -> None:
        """Two neighbours that each hash right in the other's place were swapped."""
        changed = {f.version for f in self.findings if f.kind == "changed"}
        rows = {r[0]: r for r in self.rows}
        for v in sorted(changed):
            if v + 1 not in changed or v not in changed:
                continue
            before = rows[v - 1][3] if v > 1 and v - 1 in rows else GENESIS
            a, b = rows[v], rows[v + 1]
            if (
                before is not None
                and a[1] is not None
                and b[1] is not None
                and a[2] is not None
                and b[2] is not None
                and link_hash(before, self.order, v, b[1], b[2]) == a[3]
                and a[3] is not None
                and link_hash(a[3], self.order, v + 1, a[1], a[2]) == b[3]
            ):
                self.findings = [
                    f for f in self.findings if f.kind != "changed" or f.version not in (v, v + 1)
                ]
                self._add(v, "swapped", f"versions {v} and {v + 1} hold each other's event")
                changed -= {v, v + 1}
        self.findings.sort(key=lambda f: f.version)

    def check_seals(self, seals: list[Seal], key: bytes, this_key: str) -> list[str]:
        """Compare the chain recomputed from the events with each sealed head;
        returns the ids of the other keys that made seals this key cannot check.

        A seal whose MAC fails is forged unless it names another key: a MAC
        that verifies proves the key, so an edited id can only turn a forgery
        into a "wrong key" verdict, never into a clean one."""
        first_break = min((f.version for f in self.findings), default=None)
        matched = 0
        other_keys: list[str] = []
        for seal in sorted(seals, key=lambda s: s.version):
            if not mac_ok(key, seal.mac, seal.order, seal.version, seal.hash, seal.sealed_at):
                if seal.key_id is not None and seal.key_id != this_key:
                    other_keys.append(seal.key_id)
                else:
                    self._add(seal.version, "seal_forged", "the seal's MAC does not verify")
                continue
            if first_break is not None and first_break <= seal.version:
                continue  # already named by the row check
            if seal.version not in self.computed:
                gone = max((v for v in self.computed if v < seal.version), default=0) + 1
                self._add(
                    gone,
                    "deleted",
                    f"versions {gone} to {seal.version} were sealed on {seal.sealed_at}, "
                    "now missing",
                )
                return other_keys
            if self.computed[seal.version] != seal.hash:
                self._add(
                    seal.version,
                    "chain_rewritten",
                    f"events and links after version {matched} up to {seal.version} "
                    f"differ from the seal of {seal.sealed_at}",
                )
                return other_keys
            matched = seal.version
        self.sealed_version = matched
        if matched == 0 or self.intact:  # versions 1..n: no need to count
            self.events_after_seal = len(self.computed) - matched
        else:
            self.events_after_seal = sum(1 for v in self.computed if v > matched)
        return other_keys
