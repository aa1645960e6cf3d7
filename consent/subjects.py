"""Which citizen a sector's pseudonym denotes, as the consent service knows them.

A department or holder names the citizen by its own sector's pseudonym; the consent service files
everything under its own pseudonym (``citizen_key``) so the citizen sees one complete record. The
identity service answers the link once (``POST /sector-subjects/links``, a call only this service
may make); the answer is kept, so the decision endpoint on every read does not wait for it.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field

from consent.tables import ConsentTable
from kernel.client import raise_for_upstream_problem
from kernel.problems import Problem


class SubjectLink(ConsentTable, table=True):
    __tablename__ = "consent_subject_link"

    client: str = Field(primary_key=True, max_length=40)
    subject: str = Field(primary_key=True, max_length=128)
    citizen_key: str = Field(max_length=128, index=True)


def _known(app: FastAPI, client: str, subject: str) -> str | None:
    with app.state.database.session() as session:
        link = session.get(SubjectLink, (client, subject))
        return link.citizen_key if link else None


def _remember(app: FastAPI, client: str, subject: str, citizen_key: str) -> None:
    with app.state.database.session() as session:
        if session.get(SubjectLink, (client, subject)) is None:
            session.add(SubjectLink(client=client, subject=subject, citizen_key=citizen_key))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # a concurrent request remembered the same link first


LINK_CACHE_SIZE = 65536


async def citizen_key_of(app: FastAPI, client: str, subject: str) -> str:
    """The consent service's own pseudonym for the citizen ``client`` calls ``subject``."""
    # A link never changes once made, so the decision endpoint answers known ones from memory.
    cache: dict[tuple[str, str], str] = app.state.subject_links
    if known := cache.get((client, subject)):
        return known
    citizen_key = await _look_up(app, client, subject)
    if len(cache) >= LINK_CACHE_SIZE:
        cache.clear()
    cache[(client, subject)] = citizen_key
    return citizen_key


async def _look_up(app: FastAPI, client: str, subject: str) -> str:
    if known := await run_in_threadpool(_known, app, client, subject):
        return known
    response = await app.state.services.request(
        "identity", "POST", "/sector-subjects/links", json={"client": client, "subject": subject}
    )
    if response.status_code == 404:
        raise Problem(404, f"No citizen is known to {client} by this subject.", kind="subject-unknown")
    raise_for_upstream_problem("identity", response)
    citizen_key = response.json()["subject"]
    await run_in_threadpool(_remember, app, client, subject, citizen_key)
    return citizen_key
