"""The ground truth as the report reads it: who the residents are and what each did.

``read_truth`` reads the file through its own module (``workshop.population.truth``, which checks
it) and turns the checked document into the report's frozen view; ``truth_from_document`` builds the
same view from a document in hand (the tests' truths).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TRUTH_SCHEMA = "citygate.truth/1"


class TruthError(ValueError):
    """The truth file is missing, unreadable, or not in the format the report reads."""


@dataclass(frozen=True)
class Condition:
    diagnosis: str | None
    medication: str | None
    # how a prescription codes the diagnosis (ICD-10, "E11.9"), when the truth says: the hospital and
    # the gateway store the code, not the words
    diagnosis_code: str | None = None


@dataclass(frozen=True)
class Resident:
    handle: str
    name: str
    latin_name: str | None
    resident_id: str
    sex: str | None
    birth_date: date
    phone: str
    district: str | None
    address: str
    plate: str | None
    spouse: str | None
    married_on: date | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Fine:
    plate: str
    offence: str
    place: str
    amount_cents: int | None
    reference: str | None


@dataclass(frozen=True)
class Marriage:
    spouses: tuple[str, str]
    registered_on: date | None


@dataclass(frozen=True)
class Prescription:
    resident: str
    diagnosis: str | None
    medication: str | None


@dataclass(frozen=True)
class JourneyRun:
    regime: str
    resident: str
    partner: str | None
    journey: str
    variant: str | None
    outcome: str
    steps: int
    prompts: int
    milliseconds: float
    finished_at: str | None


@dataclass(frozen=True)
class Truth:
    seed: int | None
    residents: tuple[Resident, ...]
    fines: tuple[Fine, ...]
    marriages: tuple[Marriage, ...]
    prescriptions: tuple[Prescription, ...]
    journeys: tuple[JourneyRun, ...]

    def resident(self, handle: str) -> Resident:
        for resident in self.residents:
            if resident.handle == handle:
                return resident
        raise KeyError(handle)


def truth_path(data_root: Path) -> Path:
    """Where ``citygate populate`` writes the truth under a data root (``var/`` by default)."""
    return data_root / "population" / "truth.json"


def read_truth(path: Path) -> Truth:
    """The truth file at ``path``, read and checked by its own module (``workshop.population.truth``);
    TruthError saying what is wrong otherwise."""
    from workshop.population import truth as population_truth

    try:
        checked = population_truth.read_truth(path)
    except population_truth.TruthError as error:
        raise TruthError(str(error)) from None
    return truth_from_document(population_truth.truth_to_json(checked))


def truth_from_document(document: Any) -> Truth:
    """The report's view of a ``citygate.truth/1`` document (already parsed)."""
    if not isinstance(document, dict) or document.get("schema") != TRUTH_SCHEMA:
        raise TruthError(f"the ground truth is not a {TRUTH_SCHEMA} document")
    try:
        facts = document.get("facts") or {}
        return Truth(
            seed=document.get("seed"),
            residents=tuple(_resident(item) for item in document["residents"]),
            fines=tuple(
                Fine(
                    plate=item["plate"],
                    offence=item["offence"],
                    place=item.get("place") or "",
                    amount_cents=item.get("amount_cents"),
                    reference=item.get("reference"),
                )
                for item in facts.get("fines", ())
            ),
            marriages=tuple(
                Marriage(
                    spouses=(item["spouses"][0], item["spouses"][1]), registered_on=_day(item.get("registered_on"))
                )
                for item in facts.get("marriages", ())
            ),
            prescriptions=tuple(
                Prescription(
                    resident=item["resident"], diagnosis=item.get("diagnosis"), medication=item.get("medication")
                )
                for item in facts.get("prescriptions", ())
            ),
            journeys=tuple(_journey(item) for item in document.get("journeys", ())),
        )
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise TruthError(f"the ground truth is malformed: {error!r}") from error


def _resident(item: dict[str, Any]) -> Resident:
    birth_date = _day(item["birth_date"])
    if birth_date is None:
        raise ValueError(f"resident {item.get('handle')!r} has no birth date")
    return Resident(
        handle=item["handle"],
        name=item["name"],
        latin_name=item.get("latin_name"),
        resident_id=item["resident_id"],
        sex=item.get("sex"),
        birth_date=birth_date,
        phone=item["phone"],
        district=item.get("district"),
        address=item["address"],
        plate=item.get("plate"),
        spouse=item.get("spouse"),
        married_on=_day(item.get("married_on")),
        conditions=tuple(
            Condition(
                diagnosis=condition.get("diagnosis"),
                medication=condition.get("medication"),
                diagnosis_code=condition.get("diagnosis_code") or condition.get("icd10"),
            )
            for condition in item.get("conditions") or ()
        ),
    )


def _journey(item: dict[str, Any]) -> JourneyRun:
    return JourneyRun(
        regime=item["regime"],
        resident=item["resident"],
        partner=item.get("partner"),
        journey=item["journey"],
        variant=item.get("variant"),
        outcome=item["outcome"],
        steps=int(item.get("steps") or 0),
        prompts=int(item.get("prompts") or 0),
        milliseconds=float(item.get("milliseconds") or 0.0),
        finished_at=item.get("finished_at"),
    )


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(str(value)[:10])
