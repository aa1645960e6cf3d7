"""Consent artefacts and their lifecycle; every change is a ledger leaf in the same transaction.

The artefact row, its re-signed receipt and the ledger entry that records the change are
written together: either the citizen's decision is in force and logged, or neither happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from joserfc.jwk import ECKey, KeySet
from sqlmodel import Session, select

from consent.ledger import Ledger, LedgerTransaction
from consent.ledger_events import access_event, artefact_event, erasure_event
from consent.lifecycle import check_transition
from consent.models import (
    ArtefactPublic,
    ConsentArtefact,
    ConsentRequestCreate,
    DecisionPublic,
    DecisionRequest,
    LegalBasisCreate,
    Mode,
    Status,
)
from consent.receipts import InvalidReceipt, receipt_document, sign_receipt, timestamp, verify_receipt
from consent.vocabulary import CATEGORIES, LEGAL_BASIS_WORDS, PROCESSING, PURPOSES, LegalBasis
from kernel.legal_bases import LEGAL_BASES, DeclaredLegalBasis, declared_for
from kernel.problems import Problem

MAX_VALIDITY = timedelta(days=3653)
CITIZEN = "citizen"


def check_terms(purposes: list[str], categories: list[str], processing: list[str]) -> None:
    unknown = {
        "purposes": [p for p in purposes if p not in PURPOSES],
        "categories": [c for c in categories if c not in CATEGORIES],
        "processing": [p for p in processing if p not in PROCESSING],
    }
    if any(unknown.values()):
        raise Problem(
            422,
            "The request names terms this service cannot explain to the citizen.",
            kind="unknown-term",
            unknown={k: v for k, v in unknown.items() if v},
            known={"purposes": sorted(PURPOSES), "categories": sorted(CATEGORIES), "processing": sorted(PROCESSING)},
        )


def declared_in_law(
    *,
    controller: str,
    legal_basis: str,
    law_reference: str | None,
    purposes: list[str],
    categories: list[str],
    processing: list[str],
    recipients: list[str],
) -> bool:
    """Whether some law of kernel/legal_bases.py gives ``controller`` all of this."""
    return any(
        law.covers(
            controller=controller,
            legal_basis=legal_basis,
            law_reference=law_reference or "",
            purposes=purposes,
            categories=categories,
            processing=processing,
            recipients=recipients,
        )
        for law in LEGAL_BASES
    )


def check_declared_in_law(controller: str, body: LegalBasisCreate) -> None:
    """A department records only a basis the law gives it (kernel/legal_bases.py), never one it made up."""
    if not declared_in_law(
        controller=controller,
        legal_basis=body.legal_basis,
        law_reference=body.law_reference,
        purposes=body.purposes,
        categories=body.categories,
        processing=body.processing,
        recipients=body.recipients or [controller],
    ):
        raise Problem(
            403,
            f"No law declared in this deployment gives {controller} this basis; nothing was recorded.",
            kind="legal-basis-not-in-law",
            declared=[_declared_terms(law) for law in declared_for(controller)],
        )


def _declared_terms(law: DeclaredLegalBasis) -> dict:
    return {
        "legal_basis": law.legal_basis,
        "law_reference": law.law_reference,
        "purposes": sorted(law.purposes),
        "categories": sorted(law.categories),
        "processing": sorted(law.processing),
        "recipients": sorted(law.recipients),
    }


def summary_of(artefact: ConsentArtefact) -> str:
    """The artefact as the citizen reads it."""
    who = ", ".join(artefact.recipients)
    what = ", ".join(CATEGORIES[c] for c in artefact.categories)
    why = "; ".join(PURPOSES[p] for p in artefact.purposes)
    doing = ", ".join(PROCESSING[p] for p in artefact.processing)
    until = artefact.valid_until.strftime("%d %B %Y")
    if artefact.resources:
        what = f"{what} (only {', '.join(artefact.resources)})"
    if artefact.legal_basis == LegalBasis.CONSENT:
        once = "once" if artefact.mode == Mode.ONE_TIME else f"until {until}"
        words = f"{artefact.controller} asks that {who} may {doing} {what}, {why}, {once}."
        return words + (f" In their words: {artefact.notice}" if artefact.notice else "")
    basis = LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)]
    return (
        f"{artefact.controller} may {doing} {what} for {who}, {why}, until {until}, because of {basis}"
        f" ({artefact.law_reference}); this does not need your consent and cannot be withdrawn here."
    )


def public(artefact: ConsentArtefact) -> ArtefactPublic:
    return ArtefactPublic.model_validate(
        artefact.model_dump()
        | {
            "summary": summary_of(artefact),
        }
    )


@dataclass
class ConsentBook:
    """The artefacts of one consent service: its ledger, its signing key and its clock."""

    ledger: Ledger
    signing_key: ECKey
    issuer: str
    clock: Callable[[], datetime]

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
        body,
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
            raise Problem(422, "valid_until must lie in the future, at most ten years ahead.", kind="invalid-validity")
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
        artefacts = self._read(lambda session: list(session.exec(query.order_by(ConsentArtefact.created_at.desc()))))
        return [a for a in artefacts if status is None or a.status == status]

    def artefact_of(self, citizen_key: str, artefact_id: str) -> ConsentArtefact:
        return self._read(lambda session: [self._citizens_artefact(session, citizen_key, artefact_id)])[0]

    def _read(self, load: Callable[[Session], list[ConsentArtefact]]) -> list[ConsentArtefact]:
        """``load``'s artefacts as of now: read without the ledger's append lock, and again under it
        only when one of them has expired meanwhile (the expiry is a transition, so it is logged)."""
        with self.ledger.database.session() as session:
            artefacts = load(session)
        if not any(self._due(artefact) for artefact in artefacts):
            return artefacts
        with self.ledger.transaction() as tx:
            artefacts = load(tx.session)
            for artefact in artefacts:
                self._expire_if_due(tx, artefact)
        return artefacts

    def change_status(self, citizen_key: str, artefact_id: str, wanted: Status) -> ConsentArtefact:
        with self.ledger.transaction() as tx:
            artefact = self._citizens_artefact(tx.session, citizen_key, artefact_id, lock=True)
            self._expire_if_due(tx, artefact)
            if artefact.legal_basis != LegalBasis.CONSENT:
                basis = LEGAL_BASIS_WORDS[LegalBasis(artefact.legal_basis)]
                raise Problem(
                    409,
                    f"This processing rests on {basis}, not on your consent: there is nothing to "
                    "give, refuse or withdraw here.",
                    kind="not-consent-based",
                )
            check_transition(Status(artefact.status), wanted)
            if wanted == Status.GIVEN and self.clock() >= artefact.valid_until:
                raise Problem(
                    409, "This request has lapsed (its validity ended before you answered).", kind="request-lapsed"
                )
            self._transition(tx, artefact, wanted, by=CITIZEN)
        return artefact

    def _citizens_artefact(
        self, session: Session, citizen_key: str, artefact_id: str, lock: bool = False
    ) -> ConsentArtefact:
        artefact = session.get(ConsentArtefact, artefact_id, with_for_update=lock)
        if artefact is None or artefact.citizen_key != citizen_key:
            # the same answer whether it does not exist or is someone else's: ids reveal nothing
            raise Problem(404, "You have no artefact with this id.", kind="artefact-not-found")
        return artefact

    # ---- what data consumers see -------------------------------------------------------------

    def artefact_for(self, caller: str, artefact_id: str) -> ConsentArtefact:
        def load(session: Session) -> list[ConsentArtefact]:
            artefact = session.get(ConsentArtefact, artefact_id)
            if artefact is None or (caller != artefact.controller and caller not in artefact.recipients):
                raise Problem(404, "No artefact with this id names you.", kind="artefact-not-found")
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

    # ---- decisions on reads ----------------------------------------------------------------------

    def decide(self, holder: str, citizen_key: str, body: DecisionRequest) -> DecisionPublic:
        now = self.clock()
        presented_id = self._presented_artefact_id(body.artefact, now) if body.artefact else None
        if presented_id is not None and body.artefact_id is not None and presented_id != body.artefact_id:
            raise Problem(422, "The presented receipt and the named artefact differ.", kind="invalid-artefact")
        named_id = presented_id or body.artefact_id
        with self.ledger.transaction() as tx:
            if named_id is not None:
                artefact = tx.session.get(ConsentArtefact, named_id, with_for_update=True)
                if artefact is None and presented_id is not None:
                    raise Problem(422, "The presented artefact is signed but unknown here.", kind="invalid-artefact")
            else:
                artefact = self._covering_artefact(tx.session, citizen_key, body)
            # An artefact about another citizen (a department acting for one patient, pointed at another's
            # pod) is refused, and its id is not written into this citizen's log.
            mismatch = artefact is not None and artefact.citizen_key != citizen_key
            if artefact is not None and not mismatch:
                self._expire_if_due(tx, artefact)
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
            if reason is None and artefact.mode == Mode.ONE_TIME:
                self._transition(tx, artefact, Status.EXPIRED, by="consent", reason="used once")
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

    def _presented_artefact_id(self, receipt: str, now: datetime) -> str:
        try:
            document = verify_receipt(receipt, KeySet([self.signing_key]))
        except InvalidReceipt as error:
            raise Problem(
                422, f"The presented artefact is not a receipt this service signed: {error}.", kind="invalid-artefact"
            ) from error
        if datetime.fromisoformat(document["valid_until"]) <= now:
            raise Problem(
                422, "The presented artefact has expired.", kind="artefact-expired", artefact_id=document["record_id"]
            )
        return document["record_id"]

    def _covering_artefact(self, session: Session, citizen_key: str, body: DecisionRequest) -> ConsentArtefact | None:
        candidates = session.exec(
            select(ConsentArtefact)
            .where(ConsentArtefact.citizen_key == citizen_key, ConsentArtefact.status == Status.GIVEN)
            .order_by(ConsentArtefact.created_at.desc())
        )
        for artefact in candidates:
            if _refusal(artefact, citizen_key, body) is None and not self._due(artefact):
                return artefact
        return None

    # ---- transitions -----------------------------------------------------------------------------

    def _due(self, artefact: ConsentArtefact) -> bool:
        return artefact.status == Status.GIVEN and self.clock() >= artefact.valid_until

    def _expire_if_due(self, tx: LedgerTransaction, artefact: ConsentArtefact) -> None:
        if self._due(artefact):
            self._transition(tx, artefact, Status.EXPIRED, by="consent", reason="validity ended")

    def _transition(
        self, tx: LedgerTransaction, artefact: ConsentArtefact, wanted: Status, *, by: str, reason: str | None = None
    ) -> None:
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
        event = {"status": wanted.value, "at": timestamp(now), "by": by, "ledger_index": index}
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
