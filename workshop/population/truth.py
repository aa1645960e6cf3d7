"""The ground truth: who the residents are and what happened, the "real world" the report holds
every party's stored data against. It is no party's data, so no service ever reads it.

``<data root>/population/truth.json``, schema ``citygate.truth/1``:
``{"schema", "seed", "today", "residents": [...], "facts": {"fines", "marriages", "prescriptions"},
"journeys": [...]}`` (``today``: the ISO date the population was drawn on).
(docs of each object: ``ResidentRecord`` here, the records of ``workshop.population.facts``).

It names every resident with their resident ID, diagnoses and marriages, so it is written like a
secret: mode 0600 in a 0700 directory, atomically (a temporary file in the same directory, synced,
then renamed over the old one), so a reader sees the old truth or the new, never half of one.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from kernel.at_rest import private_directory, private_file
from kernel.personas import DEMO_PASSWORD, PERSONAS, Persona
from kernel.resident_id import InvalidResidentId, parse_resident_id
from workshop.population.conditions import treatment_for
from workshop.population.demo_personas import persona_facts, persona_residents
from workshop.population.facts import Facts, FineFact, Handle, JourneyRecord, MarriageFact, PrescriptionFact, Text
from workshop.population.people import ROLE, Condition, Resident, totp_secret_for

__all__ = [
    "SCHEMA",
    "Facts",
    "FineFact",
    "JourneyRecord",
    "MarriageFact",
    "PrescriptionFact",
    "ResidentRecord",
    "Truth",
    "TruthError",
    "TruthInvalid",
    "TruthMissing",
    "TruthSchemaUnknown",
    "persona_facts",
    "persona_residents",
    "read_truth",
    "resident_from_json",
    "resident_to_json",
    "truth_from_json",
    "truth_path",
    "truth_to_json",
    "write_truth",
]

SCHEMA = "citygate.truth/1"
_KEYS = {"schema", "seed", "today", "residents", "facts", "journeys"}
_PERSONAS = {persona.handle: persona for persona in PERSONAS}


class TruthError(Exception):
    """The ground truth cannot be read; the message says why and what to do."""


class TruthMissing(TruthError):
    pass


class TruthSchemaUnknown(TruthError):
    pass


class TruthInvalid(TruthError):
    pass


@dataclass
class Truth:
    """The whole file. Grows as populate goes: append residents, facts and journeys, then write it again."""

    seed: int
    today: date  # the day the population was drawn on: ages, due dates and birth dates follow from it
    residents: list[Resident] = field(default_factory=list)
    facts: Facts = field(default_factory=Facts)
    journeys: list[JourneyRecord] = field(default_factory=list)


class ConditionRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    diagnosis: Text
    medication: Text
    # how prescriptions code the diagnosis (ICD-10, "E11.9"): what a hospital or a gateway stores,
    # where the words are not (None for a condition the formulary does not know)
    diagnosis_code: Text | None = None


class ResidentRecord(BaseModel):
    """One resident in the file: what the real world knows of them (no password, no TOTP secret)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    handle: Handle
    name: Text
    latin_name: Text
    resident_id: str = Field(min_length=18, max_length=18)
    sex: Literal["female", "male"]
    birth_date: date
    phone: str = Field(min_length=1, max_length=32)
    district: Text
    address: str = Field(max_length=300)
    plate: Text | None
    spouse: Handle | None
    married_on: date | None
    conditions: list[ConditionRecord]

    @model_validator(mode="after")
    def _as_the_number_says(self) -> ResidentRecord:
        # the day of birth is in the past for any reader: today is only needed to say so
        try:
            parsed = parse_resident_id(self.resident_id, today=date.max)
        except InvalidResidentId as error:
            raise ValueError(f"resident {self.handle}: {error}") from None
        if (parsed.birth_date, parsed.sex) != (self.birth_date, self.sex):
            raise ValueError(f"resident {self.handle}: birth date or sex is not what the resident ID says")
        if (self.spouse is None) != (self.married_on is None):
            raise ValueError(f"resident {self.handle}: a spouse and a wedding day go together")
        return self


def truth_path(data_root: Path) -> Path:
    """Where the ground truth of the deployment whose data lives under ``data_root`` (``var/``) is kept."""
    return data_root / "population" / "truth.json"


def resident_to_json(resident: Resident) -> dict[str, Any]:
    record = ResidentRecord(
        handle=resident.handle,
        name=resident.name,
        latin_name=resident.latin_name,
        resident_id=resident.resident_id,
        sex=resident.sex,
        birth_date=resident.birth_date,
        phone=resident.phone,
        district=resident.district,
        address=resident.address,
        plate=resident.plate,
        spouse=resident.spouse,
        married_on=resident.married_on,
        conditions=[
            ConditionRecord(diagnosis=c.diagnosis, medication=c.medication, diagnosis_code=_icd10(c))
            for c in resident.conditions
        ],
    )
    return record.model_dump(mode="json")


def _icd10(condition: Condition) -> str | None:
    try:
        return treatment_for(condition).icd10
    except KeyError:
        return None


def resident_from_json(data: object, *, seed: int) -> Resident:
    """The resident of a ``resident_to_json`` object; ``seed`` gives back a generated resident's TOTP
    secret, a persona's come from ``kernel.personas``. ValueError (pydantic's) if it is not one."""
    record = ResidentRecord.model_validate(data)
    known = _PERSONAS.get(record.handle)
    persona = Persona(
        handle=record.handle,
        name=record.name,
        resident_id=record.resident_id,
        phone=record.phone,
        birth_date=record.birth_date,
        address=record.address,
        password=known.password if known else DEMO_PASSWORD,
        totp_secret=known.totp_secret if known else totp_secret_for(seed, record.handle),
        role=known.role if known else ROLE,
        plate=record.plate,
        spouse=record.spouse,
    )
    return Resident(
        persona=persona,
        latin_name=record.latin_name,
        sex=record.sex,
        district=record.district,
        married_on=record.married_on,
        conditions=tuple(Condition(c.diagnosis, c.medication) for c in record.conditions),
    )


_JOURNEYS = TypeAdapter(list[JourneyRecord])


def truth_to_json(truth: Truth) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "seed": truth.seed,
        "today": truth.today.isoformat(),
        "residents": [resident_to_json(resident) for resident in truth.residents],
        "facts": truth.facts.model_dump(mode="json"),
        "journeys": _JOURNEYS.dump_python(truth.journeys, mode="json"),
    }


def truth_from_json(data: object, *, source: str = "the ground truth") -> Truth:
    """The truth of a ``truth_to_json`` document; ``TruthSchemaUnknown`` or ``TruthInvalid`` otherwise."""
    if not isinstance(data, dict):
        raise TruthInvalid(f"{source} is not a JSON object")
    if data.get("schema") != SCHEMA:
        found = f"schema {data['schema']!r}" if "schema" in data else "no schema"
        raise TruthSchemaUnknown(
            f"{source} has {found}; this version of citygate reads {SCHEMA!r}: run populate again into a new "
            "data directory, or use the citygate that wrote it"
        )
    seed = data.get("seed")
    if (
        set(data) != _KEYS
        or not isinstance(seed, int)
        or isinstance(seed, bool)  # JSON true is no seed
        or not isinstance(data["residents"], list)
    ):
        raise TruthInvalid(f"{source} is not a {SCHEMA} document: keys {', '.join(sorted(_KEYS))}, an integer seed")
    try:
        residents = [resident_from_json(item, seed=seed) for item in data["residents"]]
        today = TypeAdapter(date).validate_python(data["today"])
        truth = Truth(
            seed, today, residents, Facts.model_validate(data["facts"]), _JOURNEYS.validate_python(data["journeys"])
        )
    except ValidationError as error:
        raise TruthInvalid(f"{source} is not a valid {SCHEMA} document: {error}") from None
    handles = [resident.handle for resident in residents]
    if len(set(handles)) != len(handles):
        raise TruthInvalid(f"{source} names a resident twice")
    return truth


def write_truth(path: Path, truth: Truth) -> None:
    """Replace the file at ``path`` with ``truth``, atomically; the directory is made 0700, the file 0600."""
    encoded = json.dumps(truth_to_json(truth), ensure_ascii=False).encode()  # before the disk is touched
    directory = private_directory(path.parent)
    temporary = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    descriptor = private_file(temporary, os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(encoded)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(directory)  # the rename itself survives a crash


def read_truth(path: Path) -> Truth:
    """The truth at ``path``; ``TruthMissing``, ``TruthSchemaUnknown`` or ``TruthInvalid`` saying why not."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TruthMissing(f"no ground truth at {path}: run `citygate populate` first") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TruthInvalid(f"{path} is not JSON ({error}): was it cut short? run populate again") from None
    return truth_from_json(data, source=str(path))


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
