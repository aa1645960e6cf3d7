"""The subject index: (sector, subject) -> citizen, so a sector's subject is linked in one lookup.

Every citizen gets a row per sector when enrolled (``index_citizen``). ``backfill`` runs at every
start: it drops rows derived another way than the policy derives subjects now (a replaced
pairwise secret, a data directory moved between regimes) and adds the rows missing for citizens
enrolled before the index existed, or for a sector added since. Both are idempotent.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from identity.models import Citizen, SectorSubject
from identity.pairwise import Sector
from identity.policy import IdentityPolicy
from kernel.database import Database

log = logging.getLogger("citygate.identity.subjects")
BACKFILL_BATCH = 500


def index_citizen(session: Session, policy: IdentityPolicy, citizen: Citizen) -> None:
    """Add the citizen's subject in every sector (flushed, committed with the caller's transaction)."""
    for sector, subject in policy.sector_subjects(citizen).items():
        session.add(
            SectorSubject(sector=sector.value, subject=subject, citizen_id=citizen.id, scheme=policy.subject_scheme)
        )
    session.flush()


def citizen_id_for(session: Session, sector: Sector, subject: str, policy: IdentityPolicy) -> str | None:
    """The citizen a sector's subject denotes, or None: one primary-key lookup."""
    row = session.get(SectorSubject, (sector.value, subject))
    if row is None or row.scheme != policy.subject_scheme:
        return None
    return row.citizen_id


def backfill(database: Database, policy: IdentityPolicy) -> int:
    """Make the index complete for the policy's scheme; returns how many rows were added."""
    for attempt in range(3):
        try:
            return _backfill(database, policy)
        except IntegrityError:  # another process filled the same rows meanwhile: look again
            if attempt == 2:
                raise
    return 0  # pragma: no cover


def _backfill(database: Database, policy: IdentityPolicy) -> int:
    sectors = [sector.value for sector in Sector]
    indexed = (
        select(func.count())
        .select_from(SectorSubject)
        .where(col(SectorSubject.citizen_id) == col(Citizen.id), col(SectorSubject.sector).in_(sectors))
        .scalar_subquery()
    )
    added = 0
    with database.session() as session:
        stale = session.exec(delete(SectorSubject).where(col(SectorSubject.scheme) != policy.subject_scheme))
        if stale.rowcount:
            log.warning("dropped %d subject index rows of another derivation", stale.rowcount)
        session.commit()
        while citizens := session.exec(
            select(Citizen).where(indexed < len(sectors)).order_by(Citizen.id).limit(BACKFILL_BATCH)
        ).all():
            for citizen in citizens:
                have = set(session.exec(select(SectorSubject.sector).where(SectorSubject.citizen_id == citizen.id)))
                for sector, subject in policy.sector_subjects(citizen).items():
                    if sector.value not in have:
                        session.add(
                            SectorSubject(
                                sector=sector.value,
                                subject=subject,
                                citizen_id=citizen.id,
                                scheme=policy.subject_scheme,
                            )
                        )
                        added += 1
            session.commit()
    if added:
        log.info("subject index: added %d rows", added)
    return added
