"""The demo personas as residents: their records as kernel.personas has them, the rest as the
services' demo seeds put it in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from kernel.personas import PERSONAS
from kernel.resident_id import age_on, parse_resident_id
from services.appointments.demo import HUSBAND, MARRIED_ON, WIFE
from services.fines.demo import demo_cars
from services.prescriptions.demo import PATIENT, demo_draft
from workshop.population.conditions import treatment_for
from workshop.population.demo_personas import persona_facts, persona_residents
from workshop.population.drawing import MARRIAGE_AGE
from workshop.population.names import DISTRICT_BY_CODE
from workshop.population.people import generate, reserved

TODAY = date(2026, 11, 23)


def test_the_personas_are_residents_with_the_records_they_have():
    residents = persona_residents(TODAY)
    cars = {car.owner.handle: car.plate for car in demo_cars(TODAY)}
    assert [resident.handle for resident in residents] == [persona.handle for persona in PERSONAS]
    for resident, persona in zip(residents, PERSONAS, strict=True):
        assert resident.persona == replace(persona, plate=cars.get(persona.handle))
        parsed = parse_resident_id(persona.resident_id, today=TODAY)
        assert resident.sex == parsed.sex
        assert resident.district == DISTRICT_BY_CODE[parsed.address_code].name
        assert f"({resident.latin_name})" in persona.name


def test_the_married_personas_are_the_couple_in_the_register():
    by_handle = {resident.handle: resident for resident in persona_residents(TODAY)}
    husband, wife = by_handle[HUSBAND.handle], by_handle[WIFE.handle]
    assert (husband.spouse, wife.spouse) == (wife.handle, husband.handle)
    assert husband.married_on == wife.married_on == MARRIED_ON
    for person in (husband, wife):
        assert age_on(parse_resident_id(person.resident_id, today=TODAY), MARRIED_ON) >= MARRIAGE_AGE[person.sex]
    others = [resident for resident in by_handle.values() if resident not in (husband, wife)]
    assert all(resident.spouse is None and resident.married_on is None for resident in others)


def test_the_patient_has_the_condition_of_her_demo_prescription():
    by_handle = {resident.handle: resident for resident in persona_residents(TODAY)}
    draft = demo_draft(PATIENT.resident_id)
    (condition,) = by_handle[PATIENT.handle].conditions
    assert condition.medication == draft.medication
    assert treatment_for(condition).icd10 == draft.diagnosis_code
    assert all(not resident.conditions for handle, resident in by_handle.items() if handle != PATIENT.handle)


def test_the_personas_facts_are_what_the_seeds_put_in():
    facts = persona_facts(TODAY)
    seeded = [fine for car in demo_cars(TODAY) for fine in car.fines]
    assert [(f.plate, f.offence, f.place, f.occurred_at, f.amount_cents, f.due_date) for f in facts.fines] == [
        (f.plate, f.offence, f.place, f.occurred_at, f.amount_cents, f.due_date) for f in seeded
    ]
    assert len({fine.reference for fine in facts.fines}) == len(seeded)
    assert [(m.spouses, m.registered_on) for m in facts.marriages] == [((HUSBAND.handle, WIFE.handle), MARRIED_ON)]
    (prescription,) = facts.prescriptions
    assert prescription.resident == PATIENT.handle
    assert prescription.medication == demo_draft(PATIENT.resident_id).medication


def test_the_personas_and_a_generated_population_share_no_identifier():
    everyone = [*persona_residents(TODAY), *generate(2_000, seed=4, today=TODAY)]
    for attribute in ("handle", "resident_id", "phone"):
        values = [getattr(resident, attribute) for resident in everyone]
        assert len(set(values)) == len(values), attribute
    plates = [resident.plate for resident in everyone if resident.plate]
    assert len(set(plates)) == len(plates)
    assert {resident.plate for resident in persona_residents(TODAY) if resident.plate} <= reserved().plates
