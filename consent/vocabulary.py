"""The terms a consent may name, from the W3C Data Privacy Vocabulary (DPV 2, https://w3id.org/dpv).

A closed list, each term with the plain words the citizen is shown: a request naming a term
the service cannot explain to the citizen is refused, because consent to words nobody read is
not consent. Add a term here (with its words) to make it requestable.
"""

from __future__ import annotations

from enum import StrEnum

DPV = "https://w3id.org/dpv#"
PD = "https://w3id.org/dpv/pd#"

# purpose -> what the citizen reads
PURPOSES: dict[str, str] = {
    "dpv:ServiceProvision": "to provide the service you asked for",
    "dpv:PaymentManagement": "to take and record your payment",
    "dpv:DeliveryOfGoods": "to deliver goods to you",
    "dpv:IdentityVerification": "to check who you are",
    "dpv:LegalCompliance": "to meet a legal obligation",
    "dpv:EnforceSecurity": "to keep the service secure",
    "dpv:CustomerSolvencyMonitoring": "to check your credit standing",
    "dpv:ServicePersonalisation": "to personalise the service for you",
    "dpv:DirectMarketing": "to send you marketing",
}

# personal data category -> what the citizen reads
CATEGORIES: dict[str, str] = {
    "pd:Name": "your name",
    "pd:PhysicalAddress": "your home address",
    "pd:TelephoneNumber": "your phone number",
    "pd:OfficialID": "your resident identity number",
    "pd:VehicleLicense": "your vehicle registration",
    "pd:MaritalStatus": "your marital status",
    "pd:Prescription": "your prescriptions",
    "pd:HealthRecord": "your health record",
    "pd:PaymentCardNumber": "your payment details",
}

# what is done with the data -> words
PROCESSING: dict[str, str] = {
    "dpv:Use": "use",
    "dpv:Store": "store",
    "dpv:Disclose": "pass on",
    "dpv:Analyse": "analyse",
}


class LegalBasis(StrEnum):
    """GDPR Art. 6 bases as DPV names them; only consent is the citizen's to give or withdraw."""

    CONSENT = "dpv:Consent"
    CONTRACT = "dpv:Contract"
    LEGAL_OBLIGATION = "dpv:LegalObligation"
    OFFICIAL_AUTHORITY = "dpv:OfficialAuthorityOfController"
    VITAL_INTEREST = "dpv:VitalInterest"


LEGAL_BASIS_WORDS: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: "your consent",
    LegalBasis.CONTRACT: "a contract with you",
    LegalBasis.LEGAL_OBLIGATION: "a legal obligation",
    LegalBasis.OFFICIAL_AUTHORITY: "the official authority of the department",
    LegalBasis.VITAL_INTEREST: "your vital interest",
}


def iri(term: str) -> str:
    """The full IRI of a ``dpv:`` / ``pd:`` term, for machine readers of the receipt."""
    prefix, _, name = term.partition(":")
    return {"dpv": DPV, "pd": PD}[prefix] + name


def unknown_terms(terms: list[str], known: dict[str, str]) -> list[str]:
    return [term for term in terms if term not in known]
