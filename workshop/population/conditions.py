"""What residents are treated for: a small formulary of common conditions and what a doctor
at a Guangzhou hospital prescribes for each.

A resident's ``Condition`` names the diagnosis and the medication as the prescription carries it
(the medication string is what the hospital stores, so the report can find it in a database);
``treatment_for`` gives the rest a doctor writes (ICD-10 code, dose, quantity, price). Chronic
hepatitis B and depression are here on purpose: in China both are common, and both are what a
person least wants a super-app or an employer to learn.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    diagnosis: str  # in plain English, as the ground truth names it: "type 2 diabetes"
    medication: str  # as prescribed and stored: "Metformin hydrochloride 500 mg tablets"


@dataclass(frozen=True)
class Treatment:
    condition: Condition
    icd10: str  # the diagnosis code a prescription carries (services.prescriptions: diagnosis_code)
    dose: str
    quantity: int  # units dispensed per prescription
    amount_cents: int  # what the patient pays, in fen
    min_age: int  # the youngest age at which residents are given this condition
    weight: int  # relative prevalence among residents with a condition (rough)


# diagnosis, medication (as prescribed); ICD-10, dose, quantity, price in fen, youngest age, weight
_FORMULARY: tuple[tuple[str, str, str, str, int, int, int, int], ...] = (
    ("hypertension", "Amlodipine 5 mg tablets",
     "I10", "5 mg once daily", 30, 2450, 35, 30),
    ("type 2 diabetes", "Metformin hydrochloride 500 mg tablets",
     "E11.9", "500 mg twice daily with meals", 60, 1860, 35, 14),
    ("hyperlipidaemia", "Atorvastatin calcium 20 mg tablets",
     "E78.5", "20 mg once daily at night", 30, 3600, 35, 12),
    ("coronary heart disease", "Aspirin 100 mg enteric-coated tablets",
     "I25.1", "100 mg once daily", 30, 800, 45, 6),
    ("asthma", "Salbutamol 100 micrograms inhaler",
     "J45.9", "1-2 puffs when breathless, up to 4 times a day", 1, 2800, 4, 8),
    ("allergic rhinitis", "Loratadine 10 mg tablets",
     "J30.4", "10 mg once daily", 14, 900, 6, 8),
    ("gastro-oesophageal reflux", "Omeprazole 20 mg capsules",
     "K21.9", "20 mg once daily before breakfast", 28, 2100, 18, 8),
    ("hypothyroidism", "Levothyroxine sodium 50 micrograms tablets",
     "E03.9", "50 micrograms once daily before breakfast", 30, 1500, 20, 5),
    ("chronic hepatitis B", "Entecavir 0.5 mg tablets",
     "B18.1", "0.5 mg once daily on an empty stomach", 28, 1800, 18, 5),
    ("depression", "Sertraline 50 mg tablets",
     "F32.9", "50 mg once daily", 30, 4200, 16, 4),
)  # fmt: skip

TREATMENTS: tuple[Treatment, ...] = tuple(
    Treatment(Condition(diagnosis, medication), icd10, dose, quantity, amount_cents, min_age, weight)
    for diagnosis, medication, icd10, dose, quantity, amount_cents, min_age, weight in _FORMULARY
)

_BY_DIAGNOSIS = {treatment.condition.diagnosis: treatment for treatment in TREATMENTS}
_BY_ICD10 = {treatment.icd10: treatment for treatment in TREATMENTS}


def treatment_for(condition: Condition) -> Treatment:
    """The formulary's treatment of this condition; KeyError for a diagnosis it does not know, or a
    medication other than the one it prescribes."""
    treatment = _BY_DIAGNOSIS[condition.diagnosis]
    if treatment.condition != condition:
        raise KeyError(
            f"{condition.diagnosis} is treated with {treatment.condition.medication}, not {condition.medication}"
        )
    return treatment


def treatment_by_icd10(code: str) -> Treatment:
    """The formulary's treatment of the diagnosis with this ICD-10 code (KeyError if none)."""
    return _BY_ICD10[code]
