"""The breach simulator's figures: what a thief of some parties' databases learns, in one regime.

The counts are the report's own (``workshop.report.breach.simulate``, the linkability of
``workshop.report.linkability``); beside them, per attribute class, how many residents the stolen
databases expose readable or only sealed, and which demo personas are exposed and with what.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.personas import PERSONAS
from kernel.regime import Regime
from workshop.report.breach import Breach, simulate
from workshop.report.classes import CLASSES, PSEUDONYMISED, SEALED
from workshop.report.linkability import pair_links, set_links
from workshop.report.parties import Party, named_sets, parties_in
from workshop.report.regime import RegimeFindings
from workshop.stage.errors import UnknownParty

MAX_CHOSEN = 32


@dataclass(frozen=True)
class AttributeExposure:
    label: str
    readable: int  # residents whose attribute a stolen database holds in clear or pseudonymised
    sealed: int  # residents whose attribute it holds only sealed (and nowhere readable)


@dataclass(frozen=True)
class PersonaExposure:
    name: str
    handle: str
    readable: tuple[str, ...]  # attribute labels
    sealed: tuple[str, ...]


@dataclass(frozen=True)
class BlastRadius:
    regime: str
    stolen: tuple[Party, ...]
    not_here: tuple[str, ...]  # chosen parties this regime does not have
    residents: int
    breach: Breach | None
    attributes: tuple[AttributeExposure, ...]
    personas: tuple[PersonaExposure, ...]
    linked: int | None  # colluding sets only: residents whose records two of them can join
    joined: int | None  # ... and whose records join into one profile


def known_parties() -> dict[str, str]:
    """Every party of either regime, key -> title, in the platform's then the rights regime's order."""
    known: dict[str, str] = {}
    for regime in Regime:
        for party in parties_in(regime):
            known.setdefault(party.key, party.title)
    return known


def set_names() -> list[str]:
    """The named colluding sets of either regime (the same name may have other members in each)."""
    names: list[str] = []
    for regime in Regime:
        names += [name for name, _ in named_sets(parties_in(regime)) if name not in names]
    return names


def validate(chosen: list[str], set_name: str) -> None:
    if len(chosen) > MAX_CHOSEN:
        raise UnknownParty(f"At most {MAX_CHOSEN} parties can be chosen.")
    unknown = sorted(set(chosen) - known_parties().keys())
    if unknown:
        raise UnknownParty(f"No regime has a party called {unknown[0]!r}.")
    if set_name and set_name not in set_names():
        raise UnknownParty(f"No regime has a colluding set called {set_name!r}.")


def members_in(regime: Regime, chosen: list[str], set_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The chosen parties this regime has (a named set, when one is chosen, wins) and those it has not."""
    present = [party.key for party in parties_in(regime)]
    if set_name:
        sets = dict(named_sets(parties_in(regime)))
        return sets.get(set_name, ()), ()
    wanted = list(dict.fromkeys(chosen))
    return tuple(key for key in present if key in wanted), tuple(key for key in wanted if key not in present)


def blast_radius(
    findings: RegimeFindings, regime: Regime, members: tuple[str, ...], not_here: tuple[str, ...]
) -> BlastRadius:
    members = tuple(key for key in members if key in findings.parties)
    stolen = tuple(findings.parties[key].party for key in members)
    if not members:
        return BlastRadius(regime.value, (), not_here, findings.population, None, (), (), None, None)
    readable: dict[str, set[int]] = {}
    sealed: dict[str, set[int]] = {}
    for key in members:
        for attribute, residents in findings.parties[key].cells.items():
            for resident, state in residents.items():
                if state >= PSEUDONYMISED:
                    readable.setdefault(attribute, set()).add(resident)
                elif state == SEALED:
                    sealed.setdefault(attribute, set()).add(resident)
    attributes = tuple(
        AttributeExposure(
            attribute.label,
            len(readable.get(attribute.key, ())),
            len(sealed.get(attribute.key, set()) - readable.get(attribute.key, set())),
        )
        for attribute in CLASSES
        if attribute.key in readable or attribute.key in sealed
    )
    personas = []
    for persona in PERSONAS:
        number = findings.key.residents_by_handle.get(persona.handle)
        if number is None:
            continue
        shown = tuple(a.label for a in CLASSES if number in readable.get(a.key, ()))
        hidden = tuple(
            a.label for a in CLASSES if number in sealed.get(a.key, ()) and number not in readable.get(a.key, ())
        )
        if shown or hidden:
            personas.append(PersonaExposure(persona.name, persona.handle, shown, hidden))
    linked: int | None = None
    joined: int | None = None
    if len(members) > 1:
        linked_residents, joined_residents, _ = set_links(findings, members, pair_links(findings))
        linked, joined = len(linked_residents), len(joined_residents)
    name = " + ".join(members)
    return BlastRadius(
        regime.value,
        stolen,
        not_here,
        findings.population,
        simulate(findings, name, members),
        attributes,
        tuple(personas),
        linked,
        joined,
    )
