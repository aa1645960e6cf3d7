"""The five demo personas as residents of the population, and the facts the demo seeds hold about them.

The personas (``kernel.personas``) are residents like the generated ones, so the ground truth names
them too; what the real world knows of them beyond their records is read from the services' demo
seeds, never copied, so the truth cannot drift from what the seeds put in:

- Li Wei's car and its two camera fines, Chen Jun's car and its overdue fine (``services/fines/demo.py``);
- Chen Jun and Zhang Min's marriage (``services/appointments/demo.py``);
- Wang Fang's type 2 diabetes and her metformin (``services/prescriptions/demo.py``).

Chen Jun's car is in the fines seed, not in his ``Persona`` (nothing else needs it), so his resident
record has ``plate`` set where ``kernel.personas`` has none. Each persona's district is the one of
their resident ID's address code, as for every resident: for Chen Jun that is Yuexiu, though he
lives with Zhang Min in Haizhu (his ID was issued where he was registered first, as in reality).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from kernel.personas import PERSONAS
from kernel.resident_id import parse_resident_id
from services.appointments.demo import HUSBAND, MARRIED_ON, WIFE
from services.fines.demo import demo_cars
from services.prescriptions.demo import PATIENT, demo_draft
from workshop.population.conditions import Condition, treatment_by_icd10
from workshop.population.facts import Facts, FineFact, MarriageFact, PrescriptionFact
from workshop.population.names import DISTRICT_BY_CODE
from workshop.population.people import Resident

_LATIN_IN_PARENTHESES = re.compile(r"\(([^()]+)\)\s*$")


def persona_residents(today: date) -> tuple[Resident, ...]:
    """The personas as residents, in ``kernel.personas`` order; ``today`` (China Standard Time) is the
    day their resident IDs are checked against (no birth date after it)."""
    plates = {car.owner.handle: car.plate for car in demo_cars(today)}
    conditions = {PATIENT.handle: (_patient_condition(),)}
    residents = []
    for persona in PERSONAS:
        parsed = parse_resident_id(persona.resident_id, today=today)
        latin = _LATIN_IN_PARENTHESES.search(persona.name)
        if latin is None:
            raise ValueError(f"the persona {persona.handle}'s name {persona.name!r} has no Latin name in parentheses")
        married_on = MARRIED_ON if persona.handle in (HUSBAND.handle, WIFE.handle) else None
        if (married_on is None) != (persona.spouse is None):
            raise ValueError(f"the persona {persona.handle}'s spouse is not the couple the marriage register holds")
        residents.append(
            Resident(
                persona=replace(persona, plate=persona.plate or plates.get(persona.handle)),
                latin_name=latin.group(1),
                sex=parsed.sex,
                district=DISTRICT_BY_CODE[parsed.address_code].name,
                married_on=married_on,
                conditions=conditions.get(persona.handle, ()),
            )
        )
    return tuple(residents)


def persona_facts(today: date) -> Facts:
    """The facts the demo seeds put in, as the seeds do on ``today`` (the day the fines service first
    started: Li Wei's fines are dated from it). The references are the truth's own labels: the seeds
    write the rows directly and keep none."""
    fines = [
        FineFact(
            reference=f"demo-{car.owner.handle}-{number}",
            plate=fine.plate,
            offence=fine.offence,
            place=fine.place,
            occurred_at=fine.occurred_at,
            amount_cents=fine.amount_cents,
            due_date=fine.due_date,
        )
        for car in demo_cars(today)
        for number, fine in enumerate(car.fines, start=1)
    ]
    condition = _patient_condition()
    return Facts(
        fines=fines,
        marriages=[MarriageFact(spouses=(HUSBAND.handle, WIFE.handle), registered_on=MARRIED_ON)],
        prescriptions=[
            PrescriptionFact(resident=PATIENT.handle, diagnosis=condition.diagnosis, medication=condition.medication)
        ],
    )


def _patient_condition() -> Condition:
    """Wang Fang's condition: the demo prescription's diagnosis (by its ICD-10 code) and medication."""
    draft = demo_draft(PATIENT.resident_id)
    return Condition(treatment_by_icd10(draft.diagnosis_code).condition.diagnosis, draft.medication)
