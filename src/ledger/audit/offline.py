"""Checking an export file with no database: line digests, chain, seals, manifest MAC.

Changing any byte of an event line breaks that line's sha256 in the
manifest (and usually its chain hash); changing the manifest breaks its
MAC. Without the key the chain and digests are still checked, but someone
who rewrote the whole file could have recomputed them: the MAC is what
ties the file to the service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.audit.export import FORMAT, manifest_mac
from ledger.audit.keys import key_id, mac_ok
from ledger.persistence.chain import GENESIS, link_hash


@dataclass
class FileReport:
    """What an offline check found; each problem names its line (1-based).

    ``mac``: ``verified``, ``failed`` (a problem), ``unchecked`` (no key) or
    ``wrong_key``: the manifest names another key than the one given, which
    is not a sign of tampering; nor are seals that name another key.
    ``other_keys`` counts, by key id, what another key made.
    """

    lines: int = 0
    orders: int = 0
    problems: list[str] = field(default_factory=list)
    mac: str = "unchecked"
    this_key: str = ""
    other_keys: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.other_keys

    def key_statement(self) -> str:
        """The one sentence a check with the wrong key deserves ("" with the right one)."""
        if not self.other_keys:
            return ""
        what = "its MAC and seals" if self.mac == "wrong_key" else "its seals"
        return (
            f"sealed with key {', '.join(sorted(self.other_keys))}, this key is "
            f"{self.this_key}: {what} cannot be checked with this key"
        )

    @property
    def mac_checked(self) -> bool:
        return self.mac == "verified"


def verify_file(path: Path, key: bytes | None) -> FileReport:
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    report = FileReport(lines=len(raw))
    manifest = _manifest(raw, report)
    if manifest is None:
        return report
    digests = manifest.get("line_sha256", [])
    if len(digests) != len(raw) - 1:
        report.problems.append(f"manifest lists {len(digests)} lines, the file has {len(raw) - 1}")
    heads: dict[str, tuple[int, bytes]] = {}
    for number, line in enumerate(raw[:-1], start=1):
        expected = digests[number - 1] if number <= len(digests) else ""
        if hashlib.sha256(line).hexdigest() != expected:
            report.problems.append(f"line {number}: its sha256 differs from the manifest")
        _check_chain(number, line, heads, report)
    report.orders = len(heads)
    _check_heads_and_seals(manifest, heads, key, report)
    return report


def _manifest(raw: list[bytes], report: FileReport) -> dict[str, Any] | None:
    try:
        manifest: dict[str, Any] = json.loads(raw[-1])["manifest"]
    except (IndexError, ValueError, KeyError, TypeError):
        report.problems.append(f"line {len(raw)}: not a manifest line")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        format_ = manifest.get("format") if isinstance(manifest, dict) else None
        report.problems.append(f"line {len(raw)}: unknown format {format_!r}")
        return None
    if not _well_formed(manifest):
        report.problems.append(f"line {len(raw)}: the manifest is malformed")
        return None
    return manifest


def _well_formed(manifest: dict[str, Any]) -> bool:
    """The shapes the checks read (a manifest edited by hand may hold anything)."""
    digests, heads = manifest.get("line_sha256", []), manifest.get("heads", {})
    return (
        isinstance(digests, list)
        and isinstance(heads, dict)
        and all(isinstance(h, dict) and isinstance(h.get("version"), int) for h in heads.values())
        and isinstance(manifest.get("seals", []), list)
    )


def _check_chain(
    number: int, line: bytes, heads: dict[str, tuple[int, bytes]], report: FileReport
) -> None:
    try:
        entry = json.loads(line)
        order, version = str(entry["order"]), int(entry["version"])
        state = base64.b64decode(entry["state"], validate=True)
        stored = bytes.fromhex(entry["hash"])
        topic = str(entry["topic"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        report.problems.append(f"line {number}: not a readable event line")
        return
    last, prev = heads.get(order, (0, GENESIS))
    if version != last + 1:
        report.problems.append(
            f"line {number}: order {order} jumps from version {last} to {version}"
        )
    if link_hash(prev, order, version, topic, state) != stored:
        report.problems.append(f"line {number}: order {order} version {version} breaks the chain")
    heads[order] = (version, stored)


def _check_heads_and_seals(
    manifest: dict[str, Any],
    heads: dict[str, tuple[int, bytes]],
    key: bytes | None,
    report: FileReport,
) -> None:
    where = f"line {report.lines}"
    for order, head in manifest.get("heads", {}).items():
        if heads.get(order, (0, b""))[0] != head.get("version"):
            report.problems.append(
                f"{where}: order {order} should end at version {head['version']}"
            )
    if key is not None:
        _check_mac(manifest, key, report)


def _check_mac(manifest: dict[str, Any], key: bytes, report: FileReport) -> None:
    """One verdict on the MAC. The seals sit inside the manifest, so they are
    checked one by one only once the manifest's own MAC holds."""
    where, report.this_key = f"line {report.lines}", key_id(key)
    if not hmac.compare_digest(manifest_mac(key, manifest), str(manifest.get("mac", ""))):
        sealed_with = manifest.get("key_id")
        if isinstance(sealed_with, str) and sealed_with != report.this_key:
            report.mac = "wrong_key"
            report.other_keys[sealed_with] += 1
        else:
            report.mac = "failed"
            report.problems.append(f"{where}: the manifest's MAC does not verify with this key")
        return
    report.mac = "verified"
    for seal in manifest.get("seals", []):
        digest = bytes.fromhex(seal["hash"])
        parts = (seal["order"], seal["version"], digest, seal["sealed_at"])
        if mac_ok(key, bytes.fromhex(seal["mac"]), *parts):
            continue
        if seal.get("key_id") not in (None, report.this_key):
            report.other_keys[seal["key_id"]] += 1
        else:
            report.problems.append(f"{where}: seal of {seal['order']} v{seal['version']} is forged")
