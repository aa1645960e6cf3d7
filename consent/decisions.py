"""Decisions on reads: may this recipient use this category of this citizen's data now? Logged first.

A data holder asks before releasing anything (``POST /decisions``). The answer rests on one
artefact — the receipt the recipient presented, the artefact it names, or else any given one that
covers the read — and, permitted or refused, it is a ledger entry before it is an answer.
"""

from __future__ import annotations

from datetime import datetime

from joserfc.jwk import KeySet
from sqlmodel import Session, col, select

from consent.artefacts import ConsentBook
from consent.ledger_events import access_event
from consent.models import ConsentArtefact, DecisionPublic, DecisionRequest, Mode, Status
from consent.receipts import InvalidReceipt, verify_receipt
from consent.terms import declared_in_law
from consent.vocabulary import LegalBasis
from kernel.problems import ArtefactExpired, InvalidArtefact


def decide(book: ConsentBook, holder: str, citizen_key: str, body: DecisionRequest) -> DecisionPublic:
    now = book.clock()
    presented_id = _presented_artefact_id(book, body.artefact, now) if body.artefact else None
    if presented_id is not None and body.artefact_id is not None and presented_id != body.artefact_id:
        raise InvalidArtefact("The presented receipt and the named artefact differ.")
    named_id = presented_id or body.artefact_id
    with book.ledger.transaction() as tx:
        if named_id is not None:
            artefact = tx.session.get(ConsentArtefact, named_id, with_for_update=True)
            if artefact is None and presented_id is not None:
                raise InvalidArtefact("The presented artefact is signed but unknown here.")
        else:
            artefact = _covering_artefact(book, tx.session, citizen_key, body)
        # An artefact about another citizen (a department acting for one patient, pointed at another's
        # pod) is refused, and its id is not written into this citizen's log.
        mismatch = artefact is not None and artefact.citizen_key != citizen_key
        if artefact is not None and not mismatch:
            book.expire_if_due(tx, artefact)
        reason = (
            "no artefact with the named id"
            if named_id is not None and artefact is None
            else _refusal(artefact, citizen_key, body)
        )
        relied_on = None if artefact is None or mismatch else artefact
        index = tx.append_event(
            access_event(
                permitted=reason is None,
                at=now,
                holder=holder,
                subject=body.subject,
                recipient=body.recipient,
                category=body.category,
                purpose=body.purpose,
                processing=body.processing,
                artefact_id=relied_on.id if relied_on else None,
                resource=body.resource,
                reason=reason,
            ),
            citizen_key=citizen_key,
            recipient=body.recipient,
            recorded_at=now,
        )
        if reason is None and relied_on is not None and relied_on.mode == Mode.ONE_TIME:
            book.transition(tx, relied_on, Status.EXPIRED, by="consent", reason="used once")
    granted = relied_on if reason is None else None
    return DecisionPublic(
        permitted=reason is None,
        recipient=body.recipient,
        artefact_id=relied_on.id if relied_on else None,
        controller=granted.controller if granted else None,
        legal_basis=granted.legal_basis if granted else None,
        reason=reason,
        refusal="subject-mismatch" if mismatch else None,
        ledger_index=index,
    )


def _presented_artefact_id(book: ConsentBook, receipt: str, now: datetime) -> str:
    try:
        document = verify_receipt(receipt, KeySet([book.signing_key]))
    except InvalidReceipt as error:
        raise InvalidArtefact(f"The presented artefact is not a receipt this service signed: {error}.") from error
    if datetime.fromisoformat(document["valid_until"]) <= now:
        raise ArtefactExpired("The presented artefact has expired.", artefact_id=document["record_id"])
    return str(document["record_id"])


def _covering_artefact(
    book: ConsentBook, session: Session, citizen_key: str, body: DecisionRequest
) -> ConsentArtefact | None:
    candidates = session.exec(
        select(ConsentArtefact)
        .where(ConsentArtefact.citizen_key == citizen_key, ConsentArtefact.status == Status.GIVEN)
        .order_by(col(ConsentArtefact.created_at).desc())
    )
    for artefact in candidates:
        if _refusal(artefact, citizen_key, body) is None and not book.due(artefact):
            return artefact
    return None


def _refusal(artefact: ConsentArtefact | None, citizen_key: str, body: DecisionRequest) -> str | None:
    """Why ``artefact`` does not cover this read, or None when it does."""
    if artefact is None:
        return "no artefact covers this read"
    if artefact.citizen_key != citizen_key:
        return "the artefact is about someone else"
    if artefact.status != Status.GIVEN:
        return f"the artefact is {artefact.status}"
    if body.recipient not in artefact.recipients:
        return f"the artefact does not name {body.recipient} as a recipient"
    if artefact.legal_basis != LegalBasis.CONSENT:
        if body.recipient != artefact.controller:
            # a law gives a basis to one controller: it never lends it to another department
            return f"a legal basis covers only its controller, {artefact.controller}"
        if not declared_in_law(
            controller=artefact.controller,
            legal_basis=artefact.legal_basis,
            law_reference=artefact.law_reference,
            purposes=artefact.purposes,
            categories=artefact.categories,
            processing=artefact.processing,
            recipients=artefact.recipients,
        ):
            # recorded before the law table, or the law changed since: the table decides, not the row
            return "no declared law gives this legal basis"
    if body.category not in artefact.categories:
        return f"the artefact does not cover {body.category}"
    if body.purpose not in artefact.purposes:
        return f"the artefact does not cover the purpose {body.purpose}"
    if body.processing not in artefact.processing:
        return f"the artefact does not cover the processing {body.processing}"
    if artefact.resources and body.resource not in artefact.resources:
        # asked for one resource ("the pharmacy reads prescription X"), it never covers its neighbours
        return "the artefact does not cover this resource"
    return None
