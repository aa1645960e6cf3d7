"""Consent artefacts and the transparency ledger."""
