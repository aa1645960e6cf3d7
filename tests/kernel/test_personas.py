"""The demo citizens: valid IDs, the ages their journeys need, one couple that refers to each other."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime

import pytest

from identity.totp import totp, verify_totp
from kernel.personas import DEMO_PASSWORD, PERSONAS, Persona, by_handle
from kernel.resident_id import age_on, parse_resident_id
from tests.fixtures.narrowing import present

# The day the personas were written; the ages below are the ones the role notes describe.
WRITTEN_ON = date(2026, 11, 23)
GUANGZHOU_DISTRICTS = {
    "440103",
    "440104",
    "440105",
    "440106",
    "440111",
    "440112",
    "440113",
    "440114",
    "440115",
    "440117",
    "440118",
}


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.handle for p in PERSONAS])
def test_every_persona_is_a_consistent_guangzhou_resident(persona: Persona):
    resident = parse_resident_id(persona.resident_id, today=WRITTEN_ON)
    assert resident.value == persona.resident_id
    assert resident.birth_date == persona.birth_date
    assert resident.address_code in GUANGZHOU_DISTRICTS
    assert "广州市" in persona.address
    assert "Guangzhou" in persona.address
    assert re.fullmatch(r"\+861[3-9]\d{9}", persona.phone)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", persona.handle)
    assert re.fullmatch(r"\S{2,4} \([A-Z][a-z]+ [A-Z][a-z]+\)", persona.name)
    assert persona.password == DEMO_PASSWORD == "citygate-demo"
    assert len(persona.totp_secret) >= 16
    assert verify_totp(persona.totp_secret, totp(persona.totp_secret, 1_800_000_000), 1_800_000_000)
    assert persona.role
    assert by_handle(persona.handle) is persona


def test_handles_ids_phones_and_totp_secrets_are_unique():
    for field in ("handle", "resident_id", "phone", "totp_secret"):
        values = [getattr(persona, field) for persona in PERSONAS]
        assert len(set(values)) == len(values), field


def test_the_ages_are_as_described():
    ages = {p.handle: age_on(parse_resident_id(p.resident_id, today=WRITTEN_ON), WRITTEN_ON) for p in PERSONAS}
    assert ages == {"li-wei": 41, "chen-jun": 36, "zhang-min": 34, "wang-fang": 68, "liu-yang": 16}


def test_the_minor_is_still_under_18_today():
    """If this fails, the "over 18 is false" demo is broken: move liu-yang's birth date forward."""
    minor = by_handle("liu-yang")
    assert age_on(parse_resident_id(minor.resident_id), datetime.now(UTC).date()) < 18


def test_the_car_owner_has_the_fined_plate():
    owners = [p for p in PERSONAS if p.plate is not None]
    assert [(p.handle, p.plate) for p in owners] == [("li-wei", "粤A12345")]


def test_the_married_couple_refer_to_each_other():
    married = [p for p in PERSONAS if p.spouse is not None]
    assert {p.handle for p in married} == {"chen-jun", "zhang-min"}
    for persona in married:
        spouse = by_handle(present(persona.spouse))
        assert spouse.spouse == persona.handle
    sexes = {parse_resident_id(p.resident_id).sex for p in married}
    assert sexes == {"male", "female"}


def test_an_unknown_handle_names_the_known_ones():
    with pytest.raises(KeyError, match="wang-fang"):
        by_handle("nobody")


def test_the_totp_secret_is_offered_in_base32_for_authenticator_apps():
    persona = by_handle("wang-fang")
    padded = persona.totp_secret_base32 + "=" * (-len(persona.totp_secret_base32) % 8)
    assert base64.b32decode(padded) == persona.totp_secret
