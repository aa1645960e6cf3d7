"""Consent artefacts and their lifecycle; every change is a ledger leaf in the same transaction.

The artefact row, its re-signed receipt and the ledger entry that records the change are
written together: either the citizen's decision is in force and logged, or neither happened.
What may be asked is checked in ``consent.terms``; decisions on reads are ``consent.decisions``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from joserfc.jwk import ECKey
from sqlmodel import Session, col, select

from consent.errors import ArtefactNotFound, InvalidValidity, NotConsentBased, RequestLapsed
from consent.ledger import Ledger
from consent.ledger_events import artefact_event, erasure_event
from consent.ledger_transaction import LedgerTransaction
from consent.lifecycle import check_transition
from consent.models import ConsentArtefact, ConsentRequestCreate, LegalBasisCreate, Mode, Status
from consent.receipts import receipt_document, sign_receipt, timestamp
from consent.terms import check_declared_in_law, check_terms
from consent.vocabulary import LEGAL_BASIS_WORDS, LegalBasis
from kernel.clock import Clock

MAX_VALIDITY = timedelta(days=3653)
CITIZEN = "citizen"


@dataclass
class ConsentBook:
    """The artefacts of one consent service: its ledger, its signing key and its clock."""

    ledger: Ledger
    signing_key: ECKey
    issuer: str
    clock: Clock

    # ---- created by data consumers -------------------------------------------------------------

    def request(self, citizen_key: str, controller: str, body: ConsentRequestCreate) -> ConsentArtefact:
        check_terms(body.purposes, body.categories, body.processing)
        return self._create(
            citizen_key,
            controller,
            body,
            legal_basis=LegalBasis.CONSENT,
            status=Status.REQUESTED,
            notice=body.notice or "",
            mode=body.mode,
            law_reference=None,
        )

    def record_basis(self, citizen_key: str, controller: str, body: LegalBasisCreate) -> ConsentArtefact:
        check_terms(body.purposes, body.categories, body.processing)
        check_declared_in_law(controller, body)
        return self._create(
            citizen_key,
            controller,
            body,
            legal_basis=LegalBasis(body.legal_basis),
            status=Status.GIVEN,
            notice="",
            mode=Mode.RECURRING,
            law_reference=body.law_reference,
        )

    def _create(
        self,
        citizen_key: str,
        controller: str,
        body: ConsentRequestCreate | LegalBasisCreate,
        *,
        legal_basis: LegalBasis,
        status: Status,
        notice: str,
        mode: Mode,
        law_reference: str | None,
    ) -> ConsentArtefact:
        now = self.clock()
        valid_until = body.valid_until
        if not now < valid_until <= now + MAX_VALIDITY:
            raise InvalidValidity()
        artefact = ConsentArtefact(
            id=str(uuid.uuid4()),
            citizen_key=citizen_key,
            subject=body.subject,
            controller=controller,
            recipients=list(dict.fromkeys(body.recipients or [controller])),
            purposes=list(dict.fromkeys(body.purposes)),
            categories=list(dict.fromkeys(body.categories)),
            processing=list(dict.fromkeys(body.processing)),
            resources=list(dict.fromkeys(body.resources)),
            legal_basis=legal_basis.value,
            law_reference=law_reference,
            notice=notice,
            mode=mode.value,
            status=status.value,
            created_at=now,
            valid_until=valid_until,
            version=1,
            events=[],
            receipt="",
        )
        kind = "consent.requested" if legal_basis == LegalBasis.CONSENT else "basis.recorded"
        with self.ledger.transaction() as tx:
            index = tx.append_event(
                artefact_event(kind, artefact, now), citizen_key=citizen_key, recipient=controller, recorded_at=now
            )
            artefact.events = [{"status": status.value, "at": timestamp(now), "by": controller, "ledger_index": index}]
            self._sign(artefact)
            tx.session.add(artefact)
        return artefact

    # ---- the citizen's view and decisions --------------------------------------------------------

    def artefacts_of(self, citizen_key: str, status: Status | None = None) -> list[ConsentArtefact]:
        query = select(ConsentArtefact).where(ConsentArtefact.citizen_key == citizen_key)
        artefacts = self._read(
            lambda session: list(session.exec(query.order_by(col(ConsentArtefact.created_at).desc())))
        )
        return [a for a in artefacts if status is None or a.status == status]

    def artefact_of(self, citizen_key: str, artefact_id: str) -> ConsentArtefact:
        return self._read(lambda session: [self._citizens_artefact(session, citizen_key, artefact_id)])[0]

    def _read(self, load: Callable[[Session], list[ConsentArtefact]]) -> list[ConsentArtefact]:
        """``load``'s artefacts as of now: read without the ledger's append lock, and again under it
        only when one of them has expired meanwhile (the expiry is a transition, so it is logged)."""
        with self.ledger.database.session() as session:
            artefacts = load(session)
        if not any(self.due(artefact) for artefact in artefacts):
            return artefacts
        with self.ledger.transaction() as tx:
            artefacts = load(tx.session)
            for artefact in artefacts:
                self.expire_if_due(tx, artefact)
        return artefacts

    def change_status(self, citizen_key: str, artefact_id: str, wanted: Status) -> ConsentArtefact:
        with self.ledger.transaction() as tx:
            artefact = self._citizens_artefact(tx.session, citizen_key, artefact_id, lock=True)
            self.expire_if_due(tx, artefact)
            if artefact.legal_basis != LegalBasis.CONSENT:
                raise NotConsentBased(LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)])
            check_transition(Status(artefact.status), wanted)
            if wanted == Status.GIVEN and self.clock() >= artefact.valid_until:
                raise RequestLapsed()
            self.transition(tx, artefact, wanted, by=CITIZEN)
        return artefact

    def _citizens_artefact(
        self, session: Session, citizen_key: str, artefact_id: str, lock: bool = False
    ) -> ConsentArtefact:
        artefact = session.get(ConsentArtefact, artefact_id, with_for_update=lock)
        if artefact is None or artefact.citizen_key != citizen_key:
            # the same answer whether it does not exist or is someone else's: ids reveal nothing
            raise ArtefactNotFound("You have no artefact with this id.")
        return artefact

    # ---- what data consumers see -------------------------------------------------------------

    def artefact_for(self, caller: str, artefact_id: str) -> ConsentArtefact:
        def load(session: Session) -> list[ConsentArtefact]:
            artefact = session.get(ConsentArtefact, artefact_id)
            if artefact is None or (caller != artefact.controller and caller not in artefact.recipients):
                raise ArtefactNotFound("No artefact with this id names you.")
            return [artefact]

        return self._read(load)[0]

    def record_erasure(self, holder: str, citizen_key: str, subject: str, scope: str) -> int:
        now = self.clock()
        with self.ledger.transaction() as tx:
            return tx.append_event(
                erasure_event(at=now, holder=holder, subject=subject, scope=scope),
                citizen_key=citizen_key,
                recipient=holder,
                recorded_at=now,
            )

    # ---- transitions (the citizen's, the clock's, and a one-time consent used: consent.decisions) --

    def due(self, artefact: ConsentArtefact) -> bool:
        """Whether a given artefact's validity has ended by the book's clock (it expires when next touched)."""
        return artefact.status == Status.GIVEN and self.clock() >= artefact.valid_until

    def expire_if_due(self, tx: LedgerTransaction, artefact: ConsentArtefact) -> None:
        if self.due(artefact):
            self.transition(tx, artefact, Status.EXPIRED, by="consent", reason="validity ended")

    def transition(
        self, tx: LedgerTransaction, artefact: ConsentArtefact, wanted: Status, *, by: str, reason: str | None = None
    ) -> None:
        """Move ``artefact`` to ``wanted`` in ``tx``: logged, re-signed, saved; or ForbiddenTransition."""
        check_transition(Status(artefact.status), wanted)
        now = self.clock()
        artefact.status = wanted.value
        artefact.version += 1
        index = tx.append_event(
            artefact_event(f"consent.{wanted.value}", artefact, now, reason=reason),
            citizen_key=artefact.citizen_key,
            recipient=artefact.controller,
            recorded_at=now,
        )
        event: dict[str, str | int] = {"status": wanted.value, "at": timestamp(now), "by": by, "ledger_index": index}
        if reason:
            event["reason"] = reason
        artefact.events = [*artefact.events, event]
        self._sign(artefact)
        tx.session.add(artefact)

    def _sign(self, artefact: ConsentArtefact) -> None:
        document = receipt_document(
            artefact, issuer=self.issuer, withdrawal_url=f"{self.issuer}/me/artefacts/{artefact.id}/status"
        )
        artefact.receipt = sign_receipt(document, self.signing_key)
