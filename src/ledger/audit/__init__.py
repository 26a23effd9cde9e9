"""Audit tools: hash-chain verification and seals, exports, replay, backups and
personal-data erasure. docs/audit.md explains the threat model.

These are operations tools built on the application; what the write path
itself needs (the hash chain, the personal-data cipher and the customers'
key tables) lives in ``ledger.persistence``. The layers contract in
pyproject.toml keeps ``ledger.audit`` above the application and below the
read models, the worker and the API that use it.
"""
