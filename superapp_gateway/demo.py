"""Demo data of the super-app gateway: it seeds none — a persona's wallet opens with the starting balance
at first use (``superapp_gateway.wallet``), and everything else it keeps about them their journeys made.

Replaying (``POST /demo/reset``, kernel.demo_reset): the personas' wallets (so the next use opens them
with the starting balance again), wallet payments, journey history, hosted ID cards and user-agreement
acceptances are removed in one transaction. Their sessions stay: a phone logged in stays logged in (on
the platform it is shown the user agreement again).

Which subjects are the personas': the gateway knows a citizen only by the ``sub`` its identity provider
gave it — the resident ID on the platform, a pseudonym of the gateway's sector in the rights regime,
which only the provider can link to a person. So they are read from the gateway's own sessions, whose
claims name the citizen (``name``, released on the platform and, with the ``profile`` scope, in the
rights regime), plus the resident IDs (the platform's subjects, even without a session). A persona who
never logged in has nothing here to reset.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from kernel.demo_reset import local_reset
from kernel.personas import PERSONAS
from kernel.write_locks import lock_for_writing
from superapp_gateway.models import (
    CitizenSession,
    HostedIdCard,
    JourneyEvent,
    UserAgreementAcceptance,
    Wallet,
    WalletPayment,
)

# every table keyed by the citizen's subject that a journey writes to, children before parents
_JOURNEY_TABLES: tuple[tuple[str, Any], ...] = (
    ("wallet payments removed", WalletPayment),
    ("wallets removed", Wallet),
    ("journey events removed", JourneyEvent),
    ("hosted ID cards removed", HostedIdCard),
    ("agreement acceptances removed", UserAgreementAcceptance),
)


def persona_subjects(session: Session) -> set[str]:
    names = {persona.name for persona in PERSONAS}
    subjects = {persona.resident_id for persona in PERSONAS}
    for subject, claims in session.exec(select(CitizenSession.subject, CitizenSession.claims)).all():
        if json.loads(claims).get("name") in names:
            subjects.add(subject)
    return subjects


def reset_personas(session: Session, settings: Any) -> dict[str, int]:
    """In the caller's transaction. The write lock comes first, so a payment being debited either
    committed before (and is removed) or comes after (and opens a fresh wallet)."""
    lock_for_writing(session, "gateway.demo-reset")
    subjects = persona_subjects(session)
    return {
        what: session.exec(delete(table).where(col(table.subject).in_(subjects))).rowcount
        for what, table in _JOURNEY_TABLES
    }


reset_demo = local_reset(reset_personas)
