"""Demo data of the credit-sharing platform: it seeds none of its own — what it holds about the demo
personas (Chen Jun's overdue parking fine) the traffic police report (services/fines/demo.py).

Replaying (``POST /demo/reset``, kernel.demo_reset): the personas' records are removed, so the traffic
police's next sweep reports the reset fine afresh and Chen Jun is blacklisted again. Reset this service
before the traffic police (``citygate reset`` does): a report that arrives first would be removed here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from kernel.demo_reset import local_reset
from kernel.personas import PERSONAS
from kernel.write_locks import lock_for_writing
from services.credit.domain import normalised_subject
from services.credit.models import CreditRecord


def reset_personas_records(session: Session, settings: Any) -> dict[str, int]:
    """In the caller's transaction: every record about a demo persona removed (the platform keys
    records on the resident ID); nobody else's."""
    subjects = [normalised_subject(persona.resident_id) for persona in PERSONAS]
    lock_for_writing(session, *(f"credit.subject:{subject}" for subject in subjects))
    removed = session.exec(delete(CreditRecord).where(col(CreditRecord.subject).in_(subjects))).rowcount
    return {"records removed": removed}


reset_demo = local_reset(reset_personas_records)
