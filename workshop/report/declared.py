"""Why two parties of the rights regime share an identifier: the report says it beside the figure.

The rights regime promises that no two parties can join their records on an identifier. Some links
are the price of a function; some are weaknesses of this implementation that the figures exposed.
Either way the reason is written here and shown; a link not listed is shown as undeclared, the way a
leak added by mistake shows up. Entries are (the two parties, the join key's kind or a prefix of it);
the platform regime declares nothing (one identifier everywhere is its design, and its figures say it).
Timestamps, amounts and quasi-identifiers are no shared identifier and are never declared.
"""

from __future__ import annotations

ISSUER = (
    "the identity provider issues every sector's pseudonym and keeps the index that reverses them "
    "(identity/subject_index.py): by design the one party that can link them"
)
CONSENT_FILES = (
    "a department asks the consent ledger under its own pseudonym of the citizen and names the resources; "
    "the ledger keeps them to show the citizen one record of who asked what (docs/consent.md)"
)
POD_ADDRESS = (
    "the hospital deposits the prescription in the patient's pod and keeps where (pod_ref): the pod's "
    "address names the pod by its owner's personal-data pseudonym"
)
WALLET = (
    "the wallet pays a department's bill by its reference, and the department keeps the wallet's payment id "
    "as its idempotency key and receipt: the price of paying from the super-app"
)
DELIVERY = "the citizen gives the hospital her address for the courier, under a consent logged in the ledger"
BILL_REFERENCE_LEAK = (
    "a weakness, not a need: the prescription id is the wallet bill's reference and also names the "
    "document in her pod and in her consents, so the gateway's payment rows join them"
)

DECLARED: dict[tuple[frozenset[str], str], str] = {
    (frozenset({"identity", "gateway"}), "pseudonym:"): ISSUER,
    (frozenset({"identity", "gateway"}), "name"): (
        "the super-app asks for the profile scope at login and the citizen agrees on the identity provider's "
        "consent page: her name is in the ID token"
    ),
    (frozenset({"identity", "fines"}), "pseudonym:"): ISSUER,
    (frozenset({"identity", "appointments"}), "pseudonym:"): ISSUER,
    (frozenset({"identity", "prescriptions"}), "pseudonym:health"): ISSUER,
    (frozenset({"identity", "prescriptions"}), "pseudonym:personal-data"): POD_ADDRESS,
    (frozenset({"identity", "prescriptions"}), "address"): DELIVERY,
    (frozenset({"identity", "courier"}), "address"): DELIVERY,
    (frozenset({"identity", "consent"}), "pseudonym:"): ISSUER,
    (frozenset({"identity", "pod"}), "pseudonym:"): ISSUER,
    (frozenset({"consent", "prescriptions"}), "pseudonym:"): CONSENT_FILES,
    (frozenset({"consent", "prescriptions"}), "reference:"): CONSENT_FILES,
    (frozenset({"consent", "pod"}), "pseudonym:"): CONSENT_FILES,
    (frozenset({"consent", "pod"}), "reference:"): CONSENT_FILES,
    (frozenset({"pod", "prescriptions"}), "pseudonym:personal-data"): POD_ADDRESS,
    (frozenset({"pod", "prescriptions"}), "reference:"): POD_ADDRESS,
    (frozenset({"gateway", "fines"}), "payment-reference"): WALLET,
    (frozenset({"gateway", "prescriptions"}), "payment-reference"): WALLET,
    (frozenset({"gateway", "prescriptions"}), "reference:"): WALLET,
    (frozenset({"gateway", "pod"}), "reference:"): BILL_REFERENCE_LEAK,
    (frozenset({"gateway", "consent"}), "reference:"): BILL_REFERENCE_LEAK,
    (frozenset({"prescriptions", "courier"}), "address"): DELIVERY,
    (frozenset({"prescriptions", "courier"}), "reference:delivery_order.parcel_id"): (
        "the courier's delivery orders are kept in the hospital's database (delivery_order), which knows "
        "which parcel carries which prescription"
    ),
}


def declared_reason(regime: str, parties: tuple[str, str], kind: str) -> str | None:
    """The reason for a rights-regime link, or None (undeclared, or the platform regime)."""
    if regime != "rights":
        return None
    pair = frozenset(parties)
    for (declared_pair, prefix), reason in DECLARED.items():
        if declared_pair == pair and kind.startswith(prefix):
            return reason
    return None
