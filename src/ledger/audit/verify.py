"""Checking every order's chain and seals, naming each break by order and version.

The row check compares each event with its own link: ``link[v]`` must be
``hash(link[v-1] ‖ event v)``. It finds a changed, deleted, inserted or
swapped event, and a chain row edited by itself. The seal check recomputes
each order's chain from its events alone and compares it with the heads
sealed under the audit key: it finds events *and* chain rewritten together
(which the row check cannot, the algorithm being public) and a truncated tail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.audit.keys import mac_ok
from ledger.audit.store import EventRow, LinkRow, Seal
from ledger.persistence.chain import GENESIS, link_hash

# version, topic, state, link hash: event or link may be missing (None).
Row = tuple[int, str | None, bytes | None, bytes | None]
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
    """A verification's outcome; ``ok`` when nothing was found."""

    orders: int = 0
    events: int = 0
    sealed_orders: int = 0
    unsealed_events: int = 0
    findings: list[Finding] = field(default_factory=list)
    heads: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "orders_checked": self.orders,
            "events_checked": self.events,
            "sealed_orders": self.sealed_orders,
            "unsealed_events": self.unsealed_events,
            "findings": [asdict(f) for f in self.findings],
        }


def merged(events: Iterator[EventRow], links: Iterator[LinkRow]) -> Iterator[tuple[str, Row]]:
    """Events and links side by side, both streams sorted by (order, version)."""
    e, k = next(events, None), next(links, None)
    while e is not None or k is not None:
        if k is None or (e is not None and (e[0], e[1]) < (k[0], k[1])):
            assert e is not None
            yield e[0], (e[1], e[2], e[3], None)
            e = next(events, None)
        elif e is None or (k[0], k[1]) < (e[0], e[1]):
            yield k[0], (k[1], None, None, k[2])
            k = next(links, None)
        else:
            yield e[0], (e[1], e[2], e[3], k[2])
            e, k = next(events, None), next(links, None)


def verify_streams(
    rows: Iterable[tuple[str, Row]],
    seals: list[Seal],
    key: bytes,
    progress: Progress | None = None,
) -> Report:
    """Check every order in ``rows``; sealed orders with no rows are reported deleted."""
    report = Report()
    by_order = {o: list(s) for o, s in itertools.groupby(seals, key=lambda s: s.order)}
    for order, group in itertools.groupby(rows, key=lambda r: r[0]):
        order_rows = [row for _, row in group]
        check = OrderCheck(order, order_rows)
        check.check_seals(by_order.pop(order, []), key)
        report.orders += 1
        report.events += check.events
        report.findings.extend(check.findings)
        report.sealed_orders += 1 if check.sealed_version else 0
        report.unsealed_events += check.events_after_seal
        if not check.findings and order_rows and order_rows[-1][3] is not None:
            report.heads[order] = (order_rows[-1][0], order_rows[-1][3])
        if progress is not None:
            progress(check.events)
    for order, lost in by_order.items():
        last = max(s.version for s in lost)
        report.findings.append(
            Finding(order, last, "deleted", "a sealed order has no events or links left")
        )
    return report


class OrderCheck:
    """The row and seal checks of one order."""

    def __init__(self, order: str, rows: list[Row]) -> None:
        self.order = order
        self.rows = rows
        self.findings: list[Finding] = []
        self.computed: dict[int, bytes] = {}
        self.events = sum(1 for r in rows if r[2] is not None)
        self.sealed_version = 0
        self.events_after_seal = self.events
        self._check_rows()
        self._name_swaps()

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

    def check_seals(self, seals: list[Seal], key: bytes) -> None:
        """Compare the chain recomputed from the events with each sealed head."""
        first_break = min((f.version for f in self.findings), default=None)
        matched = 0
        for seal in sorted(seals, key=lambda s: s.version):
            if not mac_ok(key, seal.mac, seal.order, seal.version, seal.hash, seal.sealed_at):
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
                return
            if self.computed[seal.version] != seal.hash:
                self._add(
                    seal.version,
                    "chain_rewritten",
                    f"events and links after version {matched} up to {seal.version} "
                    f"differ from the seal of {seal.sealed_at}",
                )
                return
            matched = seal.version
        self.sealed_version = matched
        self.events_after_seal = sum(1 for v in self.computed if v > matched)
