"""The walkthrough's journeys (``workshop.journeys``) cast with a synthetic resident, and the one
place where a population needs another story than the demo's: on the platform, a couple's divorce
booking is refused only if one of them is blacklisted at that moment (the demo's Chen Jun always
is), so the population's booking step books, and when refused, has the restricted spouse pay their
fines and books again.

An outcome is ``succeeded``, ``refused`` (the service said no as it should: a blacklist, a wallet
too short, no free slot) or ``failed`` (anything else: a bug or an outage, reported with its detail).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from typing import Any

from kernel.client import json_or_empty
from kernel.operators import operator_headers
from kernel.personas import Persona
from kernel.regime import Regime
from workshop.journeys import JOURNEYS
from workshop.journeys.appointments import (
    BOOKINGS,
    SETTLEMENT_WAIT_SECONDS,
    book,
    free_slots,
    he_logs_in,
    his_phone,
    platform_he_confirms,
    problem_kind,
)
from workshop.journeys.cast import Cast
from workshop.journeys.common import connection, log_in, pay_again, what_the_super_app_kept
from workshop.journeys.prescriptions import (
    RETRY,
    consent_prompt,
    delivery_consent_prompt,
    device_login,
    open_pod,
    pay_the_prescription,
    platform_delivery,
    platform_dispensation,
    rights_delivery,
    rights_dispensation,
)
from workshop.narration import Step, StepFailed, Told, expect
from workshop.population.conditions import Treatment

# What a refusal the regime means to give looks like in a failed step's message.
REFUSALS = re.compile(r"answered (402|403)\b|offers no free divorce slot|has no free place left")


def outcome_of(failure: str | None) -> str:
    if failure is None:
        return "succeeded"
    return "refused" if REFUSALS.search(failure) else "failed"


VARIANTS = {
    "fines": "pay the first unpaid fine, and again (a retry)",
    "appointments": "book a divorce, the spouse confirms",
    "prescriptions": "her doctor prescribes at the hospital; pay, dispense, deliver",
    "id-card": "prove over 18 at a bar",
    "my-data": "read my consents and who read my data, withdraw the pharmacy's",
}


def variant_of(journey: str, regime: Regime) -> str:
    if journey == "appointments" and regime is Regime.PLATFORM:
        return "book a divorce (a blacklisted spouse pays first), the spouse confirms"
    if journey == "my-data" and regime is Regime.PLATFORM:
        return "look for my data in the super-app"
    return VARIANTS[journey]


def steps(journey: str, regime: Regime, cast: Cast, treatment: Treatment | None = None) -> list[Step]:
    """``treatment``: what the doctor prescribes a patient for her condition (the prescriptions journey
    is then a visit to the hospital, not the walkthrough's online consultation)."""
    if journey == "prescriptions" and treatment is not None:
        return hospital_visit(regime, cast, treatment)
    if journey == "appointments" and regime is Regime.PLATFORM:
        partner = cast.needs_partner()
        return [
            log_in(cast.citizen),
            he_logs_in(partner),
            free_slots(regime),
            book_and_settle_what_blocks(),
            platform_he_confirms(),
            what_the_super_app_kept(),
        ]
    story = JOURNEYS[journey]
    built: list[Step] = story.steps(regime, cast)
    return built


async def _pay_everything_unpaid(browser: Any) -> int:
    """Pay every fine not yet paid, from this session's wallet; the number paid."""
    fines = expect(await browser.get("/city-services/fines"), 200)
    paid = 0
    for fine in fines:
        if fine["status"] == "paid":
            continue
        expect(
            await browser.post(
                "/wallet/payments",
                headers={"Idempotency-Key": f"populate-{uuid.uuid4()}"},
                json={"payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]},
            ),
            201,
        )
        paid += 1
    return paid


def book_and_settle_what_blocks() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        response = await book(state)
        told: list[Told] = []
        if response.status_code == 403 and problem_kind(json_or_empty(response)) == "joint-punishment":
            restricted = json_or_empty(response).get("restricted_parties", [])
            told.append(Told("credit platform", f"restricted the {' and the '.join(restricted)}: the booking refused"))
            if "partner" in restricted:
                async with his_phone(state) as phone:
                    paid = await _pay_everything_unpaid(phone)
                told.append(Told("traffic police", f"the spouse paid {paid} fine(s) to lift the restriction"))
            if "booker" in restricted:
                paid = await _pay_everything_unpaid(state["browser"])
                told.append(Told("traffic police", f"she paid {paid} fine(s) to lift the restriction"))
            started = time.monotonic()
            while time.monotonic() - started < SETTLEMENT_WAIT_SECONDS:
                await asyncio.sleep(1)  # the settlement's lag on its way to the blacklist
                response = await book(state)
                if response.status_code != 403 or problem_kind(json_or_empty(response)) != "joint-punishment":
                    break
        if response.status_code == 409:
            raise StepFailed(f"POST {BOOKINGS} answered 409: {json_or_empty(response).get('detail')}")
        booking = state["booking"] = expect(response, 201)
        return [*told, Told("civil affairs bureau", f"booked {booking['id']} for {booking['starts_at']}")]

    return Step("she books the divorce: the super-app books for her", run)


# --- a visit to the hospital: her doctor prescribes for her condition ------------------------------------

PRESCRIBER = "Dr. Lin Qing, General Practice, Guangzhou First People's Hospital"


def hospital_visit(regime: Regime, cast: Cast, treatment: Treatment) -> list[Step]:
    """Her doctor at the hospital prescribes (the hospital's own desk, ``POST /hospital/prescriptions``);
    then, as in the walkthrough, she pays, the pharmacy dispenses and a courier delivers. In the rights
    regime her app opens her pod first: the hospital deposits the prescription there."""
    patient = cast.citizen
    if regime is Regime.PLATFORM:
        return [
            log_in(patient),
            the_doctor_prescribes(patient, treatment),
            her_prescriptions_in_the_super_app(),
            pay_the_prescription(),
            pay_again(RETRY),
            platform_dispensation(),
            platform_delivery(patient),
            what_the_super_app_kept(),
        ]
    return [
        log_in(patient),
        device_login(patient),
        open_pod(),
        the_doctor_prescribes(patient, treatment),
        pay_the_prescription(),
        pay_again(RETRY),
        consent_prompt(),
        rights_dispensation(),
        delivery_consent_prompt(),
        rights_delivery(patient),
        what_the_super_app_kept(),
    ]


def _hospital_reference(patient: Persona, treatment: Treatment) -> str:
    """The hospital's own reference for this prescription: stable (a run again issues nothing twice) and
    opaque (no name or number of hers in it)."""
    digest = hashlib.sha256(f"{patient.resident_id}:{treatment.icd10}".encode()).hexdigest()[:20]
    return f"gz-fph-{digest}"


def the_doctor_prescribes(patient: Persona, treatment: Treatment) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        body = {
            "reference": _hospital_reference(patient, treatment),
            "patient_resident_id": patient.resident_id,
            "prescriber": PRESCRIBER,
            "medication": treatment.condition.medication,
            "dose": treatment.dose,
            "quantity": treatment.quantity,
            "diagnosis_code": treatment.icd10,
            "amount_cents": treatment.amount_cents,
            "pod": state.get("pod"),
        }
        async with connection(state, "prescriptions") as hospital:
            issued = await hospital.post(
                "/hospital/prescriptions",
                json=body,
                headers=operator_headers(state["operator_secrets"]["prescriptions"]),
            )
        rx = state["rx"] = expect(issued, 200, 201)
        return [
            Told(
                "hospital",
                f"her doctor saw her ID card and prescribed {treatment.condition.medication} for "
                f"{treatment.condition.diagnosis} ({treatment.icd10}): {rx['id']}",
            )
        ]

    return Step("at the hospital, her doctor prescribes for her condition", run)


def her_prescriptions_in_the_super_app() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        listed = expect(await state["browser"].get("/city-services/prescriptions"), 200)
        if not any(item["id"] == state["rx"]["id"] for item in listed):
            raise StepFailed(f"the super-app does not list {state['rx']['id']}")
        return [Told("super-app", f"asked the hospital for her prescriptions and kept {len(listed)}")]

    return Step("she opens Prescriptions in the super-app", run)
