"""Consent artefacts and the transparency ledger.

The consent service exists only in the rights regime (``kernel.topology``): the platform regime has
no consent to record. It therefore has no regime difference to decide and no ``policy.py``; were it
ever to run in both regimes, the difference would be a policy object reached through a ``PolicyDep``
(docs/architecture.md).
"""
