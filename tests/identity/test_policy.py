"""The regime policies (identity profiles) without HTTP: who gets which subject and which claims."""

from __future__ import annotations

from datetime import date

import pytest

from identity import policy
from identity.models import Citizen
from identity.pairwise import Sector
from identity.policy import EIDAS_LOW, EIDAS_SUBSTANTIAL, PlatformPolicy, RightsPolicy
from kernel.personas import by_handle

SECRET = b"s" * 32


def citizen(handle: str = "li-wei", local_id: str = "0b6e7f0e-0000-4000-8000-000000000001") -> Citizen:
    persona = by_handle(handle)
    return Citizen(
        id=local_id,
        handle=persona.handle,
        resident_id=persona.resident_id,
        name=persona.name,
        phone=persona.phone,
        birth_date=persona.birth_date,
        address=persona.address,
        password_hash="x",
        totp_secret="00",
    )


def test_rights_two_clients_of_one_sector_see_the_same_subject(monkeypatch):
    monkeypatch.setitem(policy.SECTOR_OF_CLIENT, "pharmacy", Sector.HEALTH)
    rights = RightsPolicy(SECRET)
    assert rights.subject_for(citizen(), "prescriptions") == rights.subject_for(citizen(), "pharmacy")
    assert rights.subject_for(citizen(), "prescriptions") != rights.subject_for(citizen(), "fines")


def test_platform_every_client_sees_the_resident_id():
    platform = PlatformPolicy()
    assert {platform.subject_for(citizen(), client) for client in policy.SECTOR_OF_CLIENT} == {
        by_handle("li-wei").resident_id
    }


def test_rights_claims_follow_the_scopes_exactly():
    rights = RightsPolicy(SECRET)
    assert set(rights.released_claims(citizen(), "gateway", "openid")) == {"sub"}
    assert set(rights.released_claims(citizen(), "gateway", "openid phone")) == {"sub", "phone_number"}
    assert "resident_id" not in rights.claims_supported


def test_rights_the_health_sector_needs_substantial_and_others_what_they_ask():
    rights = RightsPolicy(SECRET)
    assert rights.required_acr("prescriptions", []) == EIDAS_SUBSTANTIAL
    assert rights.required_acr("gateway", []) == EIDAS_LOW
    assert rights.required_acr("gateway", [EIDAS_SUBSTANTIAL]) == EIDAS_SUBSTANTIAL
    assert rights.required_acr("gateway", ["urn:unknown"]) == EIDAS_LOW


def test_an_unregistered_relying_party_gets_no_pseudonym():
    with pytest.raises(policy.UnknownRelyingParty):
        RightsPolicy(SECRET).subject_for(citizen(), "credit")


@pytest.mark.parametrize(("handle", "over_18"), [("li-wei", True), ("liu-yang", False)])
def test_the_rights_id_card_states_age_without_needing_the_birthdate_shown(handle, over_18):
    card = RightsPolicy(SECRET).id_card(citizen(handle), date(2026, 11, 23))
    assert card.claims["age_over_18"] is over_18 and card.disclosable == frozenset(card.claims)
