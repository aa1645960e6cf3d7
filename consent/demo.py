"""Replaying the demo (``POST /demo/reset``, kernel/demo_reset.py): the consent ledger forgets the demo
personas, as it stood before their first journey, without rewriting its log.

The service knows the personas only by its own pseudonyms; it learns them from the identity service
(``GET /demo/sector-subjects``: demo deployments only, the personas only). Then, in one transaction under
the ledger's append lock (so no consent changes half-way through):

- the personas' consent artefacts and the links from other sectors' pseudonyms to theirs are deleted;
- their ledger entries stay: the log is append-only, its leaves and tree heads are public and anyone may
  hold a proof of them. What is deleted is each entry's private opening — the event in clear, the salt,
  whose event it was — so a leaf's commitment can no longer be opened or tied to anybody (the salted
  commitments of ``consent.commitments`` are made for exactly this) and the personas' access logs start
  empty again.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, update
from sqlmodel import col

from consent.dependencies import ConsentState
from consent.ledger import Ledger
from consent.models import LEDGER_ENTRIES, ConsentArtefact, SubjectLink
from kernel.state import state_of


async def reset_demo(app: FastAPI) -> dict[str, int]:
    state = state_of(app, ConsentState)
    citizen_keys = list((await state.services.demo_subjects()).values())
    summary = await run_in_threadpool(forget_citizens, state.consent_book.ledger, citizen_keys)
    state.subject_links.forget(citizen_keys)
    return summary


def forget_citizens(ledger: Ledger, citizen_keys: list[str]) -> dict[str, int]:
    """The consent service's state of ``citizen_keys`` (its own pseudonyms) removed, and their ledger
    entries' openings with it, in one transaction: nothing is half-forgotten if it fails."""
    with ledger.transaction() as tx:
        session = tx.session
        artefacts = session.exec(
            delete(ConsentArtefact).where(col(ConsentArtefact.citizen_key).in_(citizen_keys))
        ).rowcount
        session.exec(delete(SubjectLink).where(col(SubjectLink.citizen_key).in_(citizen_keys)))
        openings = session.exec(
            update(LEDGER_ENTRIES)
            .where(LEDGER_ENTRIES.c.citizen_key.in_(citizen_keys))
            .values(clear=None, salt=None, citizen_key=None, recipient=None)
        ).rowcount
    return {"consents removed": artefacts, "ledger entries' openings forgotten": openings}
