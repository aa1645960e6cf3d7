"""The synthetic residents of Guangzhou: who they are, drawn deterministically from a seed.

``generate(count, seed=..., today=...)`` draws residents one after another from one
``random.Random(seed)`` (``workshop.population.drawing``), so a population is a prefix of an
endless sequence: the first k residents of a population of n are the population of k, and a
larger run extends a smaller one (populate is resumable). Spouses are drawn together and stand
next to each other (r00041 and r00042); the price of the prefix property is that a population may
end with a resident whose spouse is the next one, not yet drawn: ``spouse`` then names a handle
outside the list (``couples`` leaves that marriage out until the spouse is drawn).

Realistic enough for the report's questions, not a census: Chinese names for most and Latin names
for about one in twenty; resident IDs valid under GB 11643-1999 issued in the resident's district,
birth date and sex as the number says; ages 0-90, about one in eight a minor; one phone each; a
car for about three adults in ten; about 45% of adults married to another resident (opposite sex,
registered once both had reached the legal age: 22 for men, 20 for women); a condition under
treatment for about a quarter. No handle, resident ID, phone or plate is a demo persona's.

Simplifications: a foreign resident has a resident ID like everyone else (in reality, a foreigner's
permanent residence card has numbers of its own); every ID was issued in the district the resident
lives in; the people of a population are its residents only (nobody marries out of town).

DEMO ONLY: every resident logs in with ``kernel.personas.DEMO_PASSWORD`` and a TOTP secret anyone
who knows the seed can derive (``totp_secret_for``). Nothing here may protect a real account.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import date, datetime

from kernel.personas import DEMO_PASSWORD, PERSONAS, Persona
from workshop.population.conditions import Condition
from workshop.population.drawing import ADULT_AGE, Draft, Taken, completed_years, drafts
from workshop.population.names import Sex

__all__ = [
    "MAX_COUNT",
    "RESERVED_PLATES",
    "ROLE",
    "Condition",
    "Resident",
    "couples",
    "generate",
    "reserved",
    "totp_secret_for",
]

MAX_COUNT = 100_000
ROLE = "A synthetic resident of the workshop population."
# A plate the demo seeds register that no persona's record names: Chen Jun's car (services/fines/demo.py).
RESERVED_PLATES = frozenset({"粤A88888"})


@dataclass(frozen=True)
class Resident:
    persona: Persona  # what identity enrols and the journeys log in with
    latin_name: str  # "Wang Fang"; a foreign resident's name is Latin in both places
    sex: Sex
    district: str  # English name of the district of the resident ID's address code
    married_on: date | None
    conditions: tuple[Condition, ...]

    @property
    def handle(self) -> str:
        return self.persona.handle

    @property
    def name(self) -> str:
        return self.persona.name

    @property
    def resident_id(self) -> str:
        return self.persona.resident_id

    @property
    def phone(self) -> str:
        return self.persona.phone

    @property
    def birth_date(self) -> date:
        return self.persona.birth_date

    @property
    def address(self) -> str:
        return self.persona.address

    @property
    def plate(self) -> str | None:
        return self.persona.plate

    @property
    def spouse(self) -> str | None:
        return self.persona.spouse

    def age_on(self, day: date) -> int:
        """Completed years on ``day``, as ``kernel.resident_id.age_on`` counts them."""
        return completed_years(self.birth_date, day)

    def is_minor(self, today: date) -> bool:
        return self.age_on(today) < ADULT_AGE


def totp_secret_for(seed: int, handle: str) -> bytes:
    """Demo only: a generated resident's TOTP secret, 20 bytes derived from the seed and the handle
    (which numbers the resident), so anyone who knows the seed can log in as anyone."""
    return hashlib.sha256(f"citygate-population-totp/{seed}/{handle}".encode()).digest()[:20]


def reserved() -> Taken:
    """What the demo personas already have: handles, resident IDs, phones and plates."""
    return Taken(
        handles={persona.handle for persona in PERSONAS},
        resident_ids={persona.resident_id for persona in PERSONAS},
        phones={persona.phone for persona in PERSONAS},
        plates={persona.plate for persona in PERSONAS if persona.plate is not None} | RESERVED_PLATES,
    )


def generate(count: int, *, seed: int, today: date) -> list[Resident]:
    """The first ``count`` residents drawn with ``seed``, aged as of ``today`` (China Standard Time).

    The same arguments give the same residents; ``generate(k)`` is the first k of ``generate(n)``.
    ``today`` fixes ages and birth dates: run populate again on another day with the same seed and the
    residents differ, so keep the day of the first run (the ground truth holds the residents)."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"a population has 0 to {MAX_COUNT:,} residents, not {count:,}")
    if isinstance(today, datetime):
        raise TypeError("today is a calendar day (a date), not an instant")
    return [_resident(draft, seed) for draft in itertools.islice(drafts(seed, today, reserved()), count)]


def couples(residents: list[Resident]) -> list[tuple[Resident, Resident]]:
    """The married couples of ``residents`` with both spouses among them, each couple once, in order."""
    by_handle = {resident.handle: resident for resident in residents}
    found: list[tuple[Resident, Resident]] = []
    paired: set[str] = set()
    for resident in residents:
        if resident.spouse in by_handle and resident.handle not in paired:
            found.append((resident, by_handle[resident.spouse]))
            paired.update((resident.handle, resident.spouse))
    return found


def _resident(draft: Draft, seed: int) -> Resident:
    persona = Persona(
        handle=draft.handle,
        name=draft.name,
        resident_id=draft.resident_id,
        phone=draft.phone,
        birth_date=draft.birth_date,
        address=draft.address,
        password=DEMO_PASSWORD,
        totp_secret=totp_secret_for(seed, draft.handle),
        role=ROLE,
        plate=draft.plate,
        spouse=draft.spouse,
    )
    return Resident(persona, draft.latin_name, draft.sex, draft.district.name, draft.married_on, draft.conditions)
