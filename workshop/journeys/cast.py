"""Who plays a journey: the citizen it follows and, for the divorce, the partner who must act too.

The walkthrough casts the demo personas (each journey's ``DEFAULT_CAST``); ``citygate populate``
casts synthetic residents (``workshop.population``). A journey's ``steps(regime, cast)`` hands each
step the person it acts for: their login name, password and authenticator secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.personas import Persona


@dataclass(frozen=True)
class Cast:
    citizen: Persona
    partner: Persona | None = None

    def needs_partner(self) -> Persona:
        if self.partner is None:
            raise ValueError(f"this journey needs a partner for {self.citizen.handle}")
        return self.partner
