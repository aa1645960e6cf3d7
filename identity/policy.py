"""What each regime's identity provider tells a relying party: one policy object per regime,
its identity profile (reached by routes through ``PolicyDep``, by the token server as its ``policy``).

platform — the e-ID hosted in the super-app: one universal identifier (the resident ID) as
           ``sub`` for every relying party, and the same full set of claims to all of them;
           consent was the user agreement accepted at sign-up, so no per-service prompt.
rights   — a national eID / wallet: a pairwise ``sub`` per sector (OIDC Core §8.1), claims
           only for the scopes asked for and consented to on a page that lists them, and
           eIDAS levels of assurance with step-up.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from identity.models import Citizen
from identity.pairwise import Sector, pairwise_subject
from kernel.regime import Regime
from kernel.resident_id import age_on, parse_resident_id

EIDAS_LOW = "http://eidas.europa.eu/LoA/low"
EIDAS_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
EIDAS_HIGH = "http://eidas.europa.eu/LoA/high"
LEVELS_OF_ASSURANCE = (EIDAS_LOW, EIDAS_SUBSTANTIAL, EIDAS_HIGH)
PLATFORM_ACR = "urn:citygate:acr:platform-real-name"  # the platform's own e-ID login, not an eIDAS level

# Which sector each relying party belongs to: its pseudonym in the rights regime.
SECTOR_OF_CLIENT: dict[str, Sector] = {
    "gateway": Sector.PLATFORM,
    "fines": Sector.TRANSPORT,
    "appointments": Sector.CIVIL_REGISTRY,
    "prescriptions": Sector.HEALTH,
    # services the citizen's own app acts at (kernel.citizens.CITIZEN_RESOURCES): the token the
    # app holds carries the citizen's subject in that service's sector
    "consent": Sector.CONSENT,
    "pod": Sector.PERSONAL_DATA,
    # the provider itself, for the ID card the app holds: the citizen's own sphere, like the pod. Only
    # the app and this provider see that subject, and the card does not carry it.
    "identity": Sector.PERSONAL_DATA,
}
# The least assurance a sector accepts in the rights regime, whatever the client asks for.
SECTOR_MINIMUM_ACR: dict[Sector, str] = {Sector.HEALTH: EIDAS_SUBSTANTIAL}

# rights regime: scope -> (claim, words on the consent page)
SCOPE_CLAIMS: dict[str, tuple[tuple[str, str], ...]] = {
    "openid": (("sub", "a pseudonym for you that only this sector knows"),),
    "profile": (("name", "your name"),),
    "birthdate": (("birthdate", "your date of birth"),),
    "phone": (("phone_number", "your mobile number"),),
    "address": (("address", "your home address"),),
}
PLATFORM_CLAIMS: tuple[tuple[str, str], ...] = (
    ("sub", "your resident identity number"),
    ("name", "your real name"),
    ("resident_id", "your resident identity number"),
    ("phone_number", "your mobile number"),
    ("real_name_verified", "that your real name is verified"),
)


class UnknownRelyingParty(LookupError):
    pass


def sector_of(client_id: str) -> Sector:
    """The sector a client belongs to (its subject's, in the rights regime); UnknownRelyingParty if none."""
    try:
        return SECTOR_OF_CLIENT[client_id]
    except KeyError:
        raise UnknownRelyingParty(client_id) from None


@dataclass(frozen=True)
class IdCard:
    """The digital ID card's contents, and which of them the holder may leave out when showing it."""

    claims: dict[str, Any]
    disclosable: frozenset[str]


CITY = "Guangzhou"


@dataclass(frozen=True)
class ConsentLine:
    claim: str
    words: str


class IdentityPolicy(Protocol):
    regime: Regime
    provider_name: str  # what the login pages call the provider
    asks_consent: bool
    subject_types_supported: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    claims_supported: tuple[str, ...]
    acr_values_supported: tuple[str, ...]
    # how subjects are derived; the subject index (identity.subject_index) is rebuilt when it changes
    subject_scheme: str

    def subject_for(self, citizen: Citizen, client_id: str) -> str: ...
    def sector_subjects(self, citizen: Citizen) -> dict[Sector, str]: ...
    def released_claims(self, citizen: Citizen, client_id: str, scope: str) -> dict[str, Any]: ...
    def consent_lines(self, client_id: str, scope: str) -> list[ConsentLine]: ...
    def required_acr(self, client_id: str, acr_values: list[str]) -> str | None: ...
    def acr_of(self, amr: list[str]) -> str: ...
    def id_card(self, citizen: Citizen, today: date) -> IdCard: ...


class PlatformPolicy:
    regime = Regime.PLATFORM
    provider_name = "Platform e-ID"
    asks_consent = False
    subject_types_supported: tuple[str, ...] = ("public",)
    scopes_supported: tuple[str, ...] = ("openid",)
    claims_supported: tuple[str, ...] = tuple(claim for claim, _ in PLATFORM_CLAIMS)
    acr_values_supported: tuple[str, ...] = (PLATFORM_ACR,)
    subject_scheme = "resident-id"

    def subject_for(self, citizen: Citizen, client_id: str) -> str:
        return citizen.resident_id

    def sector_subjects(self, citizen: Citizen) -> dict[Sector, str]:
        return dict.fromkeys(Sector, citizen.resident_id)

    def released_claims(self, citizen: Citizen, client_id: str, scope: str) -> dict[str, Any]:
        return {
            "sub": citizen.resident_id,
            "name": citizen.name,
            "resident_id": citizen.resident_id,
            "phone_number": citizen.phone,
            "real_name_verified": citizen.real_name_verified,
        }

    def consent_lines(self, client_id: str, scope: str) -> list[ConsentLine]:
        return [ConsentLine(claim, words) for claim, words in PLATFORM_CLAIMS]

    def required_acr(self, client_id: str, acr_values: list[str]) -> str | None:
        return None

    def acr_of(self, amr: list[str]) -> str:
        return PLATFORM_ACR

    def id_card(self, citizen: Citizen, today: date) -> IdCard:
        # The e-ID card in the super-app is shown whole: every verifier sees the full record.
        return IdCard(
            {
                "name": citizen.name,
                "resident_id": citizen.resident_id,
                "birthdate": citizen.birth_date.isoformat(),
                "address": citizen.address,
                "resident_of": CITY,
            },
            frozenset(),
        )


class RightsPolicy:
    regime = Regime.RIGHTS
    provider_name = "National eID"
    asks_consent = True
    subject_types_supported: tuple[str, ...] = ("pairwise",)
    scopes_supported: tuple[str, ...] = tuple(SCOPE_CLAIMS)
    claims_supported: tuple[str, ...] = tuple(claim for lines in SCOPE_CLAIMS.values() for claim, _ in lines)
    acr_values_supported: tuple[str, ...] = LEVELS_OF_ASSURANCE

    def __init__(self, pairwise_secret: bytes) -> None:
        self._secret = pairwise_secret
        # names the secret without revealing it: another secret means other pseudonyms
        fingerprint = hmac.new(pairwise_secret, b"citygate subject scheme", hashlib.sha256).hexdigest()[:16]
        self.subject_scheme = f"pairwise:{fingerprint}"

    def subject_for(self, citizen: Citizen, client_id: str) -> str:
        return pairwise_subject(self._secret, sector_of(client_id), citizen.id)

    def sector_subjects(self, citizen: Citizen) -> dict[Sector, str]:
        return {sector: pairwise_subject(self._secret, sector, citizen.id) for sector in Sector}

    def released_claims(self, citizen: Citizen, client_id: str, scope: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "sub": self.subject_for(citizen, client_id),
            "name": citizen.name,
            "birthdate": citizen.birth_date.isoformat(),
            "phone_number": citizen.phone,
            "address": {"formatted": citizen.address},
        }
        return {line.claim: values[line.claim] for line in self.consent_lines(client_id, scope)}

    def consent_lines(self, client_id: str, scope: str) -> list[ConsentLine]:
        return [ConsentLine(claim, words) for name in scope.split() for claim, words in SCOPE_CLAIMS.get(name, ())]

    def required_acr(self, client_id: str, acr_values: list[str]) -> str | None:
        wanted = [value for value in acr_values if value in LEVELS_OF_ASSURANCE]
        floor = SECTOR_MINIMUM_ACR.get(sector_of(client_id), EIDAS_LOW)
        return max([floor, *wanted], key=LEVELS_OF_ASSURANCE.index)

    def id_card(self, citizen: Citizen, today: date) -> IdCard:
        claims = {
            "name": citizen.name,
            "birthdate": citizen.birth_date.isoformat(),
            "resident_of": CITY,
            "age_over_18": age_on(parse_resident_id(citizen.resident_id, today=today), today) >= 18,
            "nationality": "CN",
        }
        return IdCard(claims, frozenset(claims))

    def acr_of(self, amr: list[str]) -> str:
        # eIDAS: two factors of different categories reach "substantial"; "high" needs a
        # hardware-protected credential this demo does not have.
        return EIDAS_SUBSTANTIAL if {"pwd", "otp"} <= set(amr) else EIDAS_LOW


def policy_for(regime: Regime, pairwise_secret: bytes) -> IdentityPolicy:
    return PlatformPolicy() if regime is Regime.PLATFORM else RightsPolicy(pairwise_secret)


def meets(acr: str, required: str | None) -> bool:
    if required is None:
        return True
    if acr not in LEVELS_OF_ASSURANCE:
        return False
    return LEVELS_OF_ASSURANCE.index(acr) >= LEVELS_OF_ASSURANCE.index(required)
