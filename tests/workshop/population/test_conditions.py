"""The formulary: each condition has one treatment a prescription can carry."""

from __future__ import annotations

import pytest

from services.prescriptions.models import PrescriptionCreate
from workshop.population.conditions import TREATMENTS, Condition, treatment_by_icd10, treatment_for


def test_every_treatment_is_a_prescription_the_hospital_accepts():
    for treatment in TREATMENTS:
        PrescriptionCreate(
            patient="subject",
            prescriber="Dr. Test",
            medication=treatment.condition.medication,
            dose=treatment.dose,
            quantity=treatment.quantity,
            diagnosis_code=treatment.icd10,
            amount_cents=treatment.amount_cents,
        )
    assert len({treatment.condition.diagnosis for treatment in TREATMENTS}) == len(TREATMENTS)
    assert len({treatment.icd10 for treatment in TREATMENTS}) == len(TREATMENTS)


def test_a_condition_leads_to_its_treatment_and_its_code_back():
    for treatment in TREATMENTS:
        assert treatment_for(treatment.condition) is treatment
        assert treatment_by_icd10(treatment.icd10) is treatment


def test_a_condition_with_another_medication_is_not_in_the_formulary():
    with pytest.raises(KeyError, match="not Aspirin"):
        treatment_for(Condition(TREATMENTS[0].condition.diagnosis, "Aspirin"))
    with pytest.raises(KeyError):
        treatment_for(Condition("scurvy", "oranges"))
