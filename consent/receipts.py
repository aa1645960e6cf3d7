"""Signed consent receipts: what a data holder checks offline before trusting an artefact.

The receipt carries the fields the consent-record standards ask for (Kantara Consent Receipt
1.1 and ISO/IEC TS 27560: principal, controller, recipients, purposes, legal basis, data
categories, processing, validity, withdrawal method, status and its history). It is serialised
as RFC 8785 canonical JSON — so two parties hashing or re-serialising it agree byte for byte —
and signed as a compact JWS with the consent service's published ES256 key. A receipt whose
payload is not in canonical form is refused: there is exactly one byte string per receipt.
"""

from __future__ import annotations

import json
from datetime import datetime

import rfc8785
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from consent.models import ConsentArtefact
from consent.vocabulary import CATEGORIES, LEGAL_BASIS_WORDS, PROCESSING, PURPOSES, LegalBasis, iri
from kernel.keys import SIGNING_ALGORITHM

RECEIPT_TYPE = "consent-receipt+jws"
SCHEMA = "urn:citygate:consent-receipt:1"


class InvalidReceipt(ValueError):
    pass


def canonical(document: dict) -> bytes:
    return rfc8785.dumps(document)


def timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def receipt_document(artefact: ConsentArtefact, *, issuer: str, withdrawal_url: str) -> dict:
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
        "legal_basis": {"id": iri(artefact.legal_basis), "term": artefact.legal_basis,
                        "reference": artefact.law_reference},
        "mode": artefact.mode,
        "notice": artefact.notice,
        "created_at": timestamp(artefact.created_at),
        "valid_until": timestamp(artefact.valid_until),
        "withdrawal": ({"method": "the citizen withdraws it at any time; effective immediately",
                        "where": withdrawal_url} if withdrawable else
                       {"method": f"not withdrawable: it rests on {LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)]}"}),
        "status": artefact.status,
        "events": artefact.events,
    }


def sign_receipt(document: dict, key: ECKey) -> str:
    key.ensure_kid()
    header = {"alg": SIGNING_ALGORITHM, "typ": RECEIPT_TYPE, "kid": key.kid}
    return jws.serialize_compact(header, canonical(document), key)


def verify_receipt(receipt: str, keys: KeySet) -> dict:
    """The receipt's document, if it is a canonical receipt signed by one of ``keys``."""
    try:
        compact = jws.extract_compact(receipt.encode("ascii"))
        header = compact.headers()
    except (JoseError, UnicodeEncodeError, ValueError) as error:
        raise InvalidReceipt("not a compact JWS") from error
    if header.get("alg") != SIGNING_ALGORITHM or header.get("typ") != RECEIPT_TYPE:
        raise InvalidReceipt("not a consent receipt (alg/typ)")
    try:
        verified = jws.deserialize_compact(receipt, keys, algorithms=[SIGNING_ALGORITHM])
    except (JoseError, ValueError) as error:
        raise InvalidReceipt("the signature does not verify") from error
    try:
        document = json.loads(verified.payload)
    except ValueError as error:
        raise InvalidReceipt("the payload is not JSON") from error
    if not isinstance(document, dict) or canonical(document) != verified.payload:
        raise InvalidReceipt("the payload is not RFC 8785 canonical JSON")
    return document
