"""Joint punishment (联合惩戒): which records restrict which services, in one table.

The seed document on China's social credit system (shared/seeds/004, "Credit: The god of
China's big data era", Adam Knight) describes the third pillar of credit regulation as "a joint
system of incentives ... with the aim of ensuring 'loss of credit in one area goes punished across
all areas' (一处失信，处处受限 yi chu shixin, chu chu shou xian). In practice, this has seen the
creation of dozens of industry, ministerial, and provincial 'blacklists' ... resulting in
punishment across the board. Travel bans are the most immediate and well-reported examples ...
close to 11 million individuals had been blocked from buying plane tickets". It also explains
social credit as an answer to the courts' "difficult implementation" (执行难 zhixing nan) of
their judgments, which is why an unpaid judgment weighs heaviest below.

The table is deliberately small and plausible, not a transcription of any real list. Editing a
row here changes what the ``/subjects/{subject}/restrictions`` query answers; nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RecordKind(StrEnum):
    """What a department reports to the platform about a citizen."""

    OVERDUE_FINE = "overdue-fine"  # the traffic police: a fine not paid by its due date
    UNPAID_COURT_JUDGMENT = "unpaid-court-judgment"  # the courts: a "judgment defaulter" (失信被执行人)


class RestrictedService(StrEnum):
    """Services that ask the platform before serving a citizen."""

    APPOINTMENTS = "appointments"  # civil-registry appointments (marriage, divorce) booked online
    RAIL_TRAVEL = "rail-travel"
    AIR_TRAVEL = "air-travel"
    HOTEL_BOOKING = "hotel-booking"


@dataclass(frozen=True)
class Rule:
    kind: RecordKind
    service: RestrictedService
    measure: str  # how the service restricts the citizen, as its booking screen would say it


def _rule(kind: str, service: str, measure: str) -> Rule:
    """A row of the table: written as plain strings for reading; a typo fails at import."""
    return Rule(RecordKind(kind), RestrictedService(service), measure)


JOINT_PUNISHMENT: tuple[Rule, ...] = (
    #     record kind              restricts        how
    _rule("overdue-fine", "appointments", "no online booking of civil-registry appointments"),
    _rule("overdue-fine", "air-travel", "no plane tickets"),
    _rule("unpaid-court-judgment", "appointments", "no online booking of civil-registry appointments"),
    _rule("unpaid-court-judgment", "rail-travel", "no high-speed rail or soft-sleeper tickets"),
    _rule("unpaid-court-judgment", "air-travel", "no plane tickets"),
    _rule("unpaid-court-judgment", "hotel-booking", "no rooms in star-rated hotels"),
)


def rules_for(service: RestrictedService) -> dict[RecordKind, str]:
    """The record kinds that restrict ``service``, each with how."""
    return {rule.kind: rule.measure for rule in JOINT_PUNISHMENT if rule.service == service}
