"""Signed consent receipts: what a data holder checks offline before trusting an artefact.

The receipt carries the fields the consent-record standards ask for (Kantara Consent Receipt
1.1 and ISO/IEC TS 27560: principal, controller, recipients, purposes, legal basis, data
categories, processing, validity, withdrawal method, status and its history). It is serialised
as RFC 8785 canonical JSON — so two parties hashing or re-serialising it agree byte for byte —
and signed as a compact JWS with the consent service's published ES256 key. A receipt whose
payload is not in canonical form is refused: there is exactly one byte string per receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import rfc8785
from joserfc.jwk import ECKey, KeySet

from consent.models import ConsentArtefact
from consent.vocabulary import CATEGORIES, LEGAL_BASIS_WORDS, PROCESSING, PURPOSES, LegalBasis, iri
from kernel.signed import InvalidStatement, sign_canonical, verify_canonical

RECEIPT_TYPE = "consent-receipt+jws"
SCHEMA = "urn:citygate:consent-receipt:1"


class InvalidReceipt(ValueError):
    pass


def canonical(document: dict[str, Any]) -> bytes:
    return rfc8785.dumps(document)


def timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def receipt_document(artefact: ConsentArtefact, *, issuer: str, withdrawal_url: str) -> dict[str, Any]:
    withdrawable = artefact.legal_basis == LegalBasis.CONSENT
    return {
        "schema": SCHEMA,
        "record_id": artefact.id,
        "version": artefact.version,
        "issuer": issuer,
        "pii_principal": {"id": artefact.subject, "id_type": "sector-pseudonym", "known_to": artefact.controller},
        "controller": artefact.controller,
        "recipients": artefact.recipients,
        "purposes": [{"id": iri(p), "term": p, "words": PURPOSES[p]} for p in artefact.purposes],
        "personal_data": [{"id": iri(c), "term": c, "words": CATEGORIES[c]} for c in artefact.categories],
        "processing": [{"id": iri(p), "term": p, "words": PROCESSING[p]} for p in artefact.processing],
        **({"resources": artefact.resources} if artefact.resources else {}),
        "legal_basis": {
            "id": iri(artefact.legal_basis),
            "term": artefact.legal_basis,
            "reference": artefact.law_reference,
        },
        "mode": artefact.mode,
        "notice": artefact.notice,
        "created_at": timestamp(artefact.created_at),
        "valid_until": timestamp(artefact.valid_until),
        "withdrawal": (
            {"method": "the citizen withdraws it at any time; effective immediately", "where": withdrawal_url}
            if withdrawable
            else {"method": f"not withdrawable: it rests on {LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)]}"}
        ),
        "status": artefact.status,
        "events": artefact.events,
    }


def sign_receipt(document: dict[str, Any], key: ECKey) -> str:
    return sign_canonical(document, key, typ=RECEIPT_TYPE)


def verify_receipt(receipt: str, keys: KeySet) -> dict[str, Any]:
    """The receipt's document, if it is a canonical receipt signed by one of ``keys``."""
    try:
        return verify_canonical(receipt, keys, typ=RECEIPT_TYPE)
    except InvalidStatement as error:
        raise InvalidReceipt(str(error)) from error
