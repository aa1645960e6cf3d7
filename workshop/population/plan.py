"""Which journeys each household of the population goes through, in which order: deterministic for
a seed, the same in both regimes (the same people doing the same things is what makes the regimes
comparable).

A household is one resident, or a married couple (the divorce needs both). Its journeys run one
after another (one phone each); households run side by side. The order inside a household puts the
divorce first, so that a spouse whose overdue fine blacklists them on the platform meets the refusal
before paying, as the demo's Chen Jun does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kernel.personas import Persona

# the share of each kind of resident who goes through each journey
DIVORCING_COUPLES = 0.15
PATIENTS_WHO_CONSULT = 0.8
OWNERS_WHO_PAY = 0.75
SHOWING_THE_ID_CARD = 0.3
PATIENTS_WHO_LOOK_AT_THEIR_DATA = 0.5
ORDER = ("appointments", "prescriptions", "id-card", "fines", "my-data")


@dataclass(frozen=True)
class Planned:
    journey: str  # a key of workshop.journeys.JOURNEYS
    citizen: str  # the handle of the one the journey follows
    partner: str | None = None  # the divorce's other spouse

    @property
    def key(self) -> tuple[str, str]:
        return self.journey, self.citizen


@dataclass(frozen=True)
class Household:
    members: tuple[str, ...]
    journeys: tuple[Planned, ...]


def households(people: list[Persona], *, patients: set[str], fined: set[str], seed: int) -> list[Household]:
    """``patients``: residents with a condition a doctor treats; ``fined``: car owners with fines."""
    by_handle = {person.handle: person for person in people}
    seen: set[str] = set()
    planned: list[Household] = []
    for person in people:
        if person.handle in seen:
            continue
        spouse = by_handle.get(person.spouse) if person.spouse else None
        members = (person,) if spouse is None else (person, spouse)
        seen.update(member.handle for member in members)
        journeys: list[Planned] = []
        couple = random.Random(f"{seed}:household:{person.handle}")  # noqa: S311 -- reproducible, no secret
        divorcing = spouse is not None and couple.random() < DIVORCING_COUPLES
        if divorcing and spouse is not None:
            journeys.append(Planned("appointments", person.handle, spouse.handle))
        for member in members:
            own = _own_journeys(member, patients=patients, fined=fined, seed=seed)
            # on the platform a divorcing spouse pays every fine when the blacklist refuses the booking:
            # a fines journey after it would find nothing to pay (the same plan serves both regimes)
            journeys.extend(planned for planned in own if not (divorcing and planned.journey == "fines"))
        journeys.sort(key=lambda item: ORDER.index(item.journey))
        planned.append(Household(tuple(member.handle for member in members), tuple(journeys)))
    return planned


def _own_journeys(person: Persona, *, patients: set[str], fined: set[str], seed: int) -> list[Planned]:
    rng = random.Random(f"{seed}:journeys:{person.handle}")  # noqa: S311 -- reproducible, no secret
    journeys: list[Planned] = []
    consults = person.handle in patients and rng.random() < PATIENTS_WHO_CONSULT
    if consults:
        journeys.append(Planned("prescriptions", person.handle))
    if rng.random() < SHOWING_THE_ID_CARD:
        journeys.append(Planned("id-card", person.handle))
    if person.handle in fined and rng.random() < OWNERS_WHO_PAY:
        journeys.append(Planned("fines", person.handle))
    if consults and rng.random() < PATIENTS_WHO_LOOK_AT_THEIR_DATA:
        journeys.append(Planned("my-data", person.handle))
    return journeys
