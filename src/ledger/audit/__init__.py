"""Audit: hash-chain verification and seals, exports, replay, backups and
personal-data erasure (SPEC §6). docs/audit.md explains the threat model.

Modules import what they need; this package imports nothing, so the
application may use ``ledger.audit.personal`` without pulling in the rest.
"""
