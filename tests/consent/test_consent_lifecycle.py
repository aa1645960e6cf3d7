"""The consent lifecycle, receipts and decisions as plain domain code (no HTTP), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from joserfc.jwk import ECKey, KeySet

from consent.artefacts import ConsentBook
from consent.commitments import opens
from consent.decisions import decide
from consent.errors import ForbiddenTransition
from consent.ledger import Ledger
from consent.lifecycle import TRANSITIONS
from consent.merkle import leaf_hash, verify_inclusion
from consent.models import ConsentRequestCreate, ConsentTable, DecisionRequest, LegalBasisCreate, Mode, Status
from consent.presentation import summary_of
from consent.receipts import InvalidReceipt, verify_receipt
from kernel.database import Database
from kernel.legal_bases import MEDICAL_RECORDS_RETENTION
from kernel.problems import Problem
from tests.fixtures.databases import backend_database
from tests.fixtures.matrix import BOTH_BACKENDS

pytestmark = [BOTH_BACKENDS]

CITIZEN = "citizen-key-of-wang-fang"
SOMEONE_ELSE = "citizen-key-of-li-wei"
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def database(backend: str, tmp_path) -> Iterator[Database]:
    with backend_database(backend, tmp_path, "consent", ConsentTable.metadata) as database:
        yield database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(database: Database, clock: Clock) -> ConsentBook:
    key = ECKey.generate_key("P-256", private=True)
    return ConsentBook(ledger=Ledger(database), signing_key=key, issuer="http://consent.test", clock=clock)


def ask(book: ConsentBook, *, mode: Mode = Mode.RECURRING, days: int = 30, citizen: str = CITIZEN):
    return book.request(
        citizen,
        "prescriptions",
        ConsentRequestCreate(
            subject="health-pseudonym",
            purposes=["dpv:ServiceProvision"],
            categories=["pd:Prescription"],
            recipients=["prescriptions"],
            valid_until=START + timedelta(days=days),
            mode=mode,
            notice="to dispense the medicine your doctor prescribed",
        ),
    )


def read(
    book: ConsentBook,
    *,
    artefact: str | None = None,
    category: str = "pd:Prescription",
    citizen: str = CITIZEN,
    processing: str = "dpv:Use",
):
    return decide(
        book,
        "pod",
        citizen,
        DecisionRequest(
            subject="pod-pseudonym",
            recipient="prescriptions",
            category=category,
            purpose="dpv:ServiceProvision",
            processing=processing,
            artefact=artefact,
            resource="/prescriptions/1",
        ),
    )


def in_state(book: ConsentBook, clock: Clock, state: Status):
    """An artefact brought to ``state`` by allowed steps only."""
    artefact = ask(book)
    if state == Status.REQUESTED:
        return artefact
    if state == Status.REFUSED:
        return book.change_status(CITIZEN, artefact.id, Status.REFUSED)
    artefact = book.change_status(CITIZEN, artefact.id, Status.GIVEN)
    if state == Status.WITHDRAWN:
        return book.change_status(CITIZEN, artefact.id, Status.WITHDRAWN)
    if state == Status.EXPIRED:
        clock.now = START + timedelta(days=31)
        artefact = book.artefact_of(CITIZEN, artefact.id)
        clock.now = START
    return artefact


CITIZEN_TARGETS = (Status.GIVEN, Status.REFUSED, Status.WITHDRAWN)


@pytest.mark.parametrize(("state", "target"), list(itertools.product(Status, CITIZEN_TARGETS)), ids=lambda s: s.value)
def test_every_transition_a_citizen_can_ask_for_is_allowed_exactly_as_the_graph_says(book, clock, state, target):
    artefact = in_state(book, clock, state)
    assert artefact.status == state
    size = book.ledger.size()
    if target in TRANSITIONS[state]:
        changed = book.change_status(CITIZEN, artefact.id, target)
        assert changed.status == target
        assert changed.events[-1]["status"] == target and changed.events[-1]["by"] == "citizen"
        assert book.ledger.size() == size + 1  # the change is a ledger leaf
    else:
        with pytest.raises(ForbiddenTransition) as refused:
            book.change_status(CITIZEN, artefact.id, target)
        assert refused.value.status == 409
        assert book.artefact_of(CITIZEN, artefact.id).status == state  # nothing changed
        assert book.ledger.size() == size  # and nothing was logged


def test_a_request_that_lapsed_unanswered_cannot_be_given_and_stays_requested(book, clock):
    artefact = ask(book, days=1)
    clock.now = START + timedelta(days=2)
    with pytest.raises(Problem) as lapsed:
        book.change_status(CITIZEN, artefact.id, Status.GIVEN)
    assert (lapsed.value.status, lapsed.value.type) == (409, "urn:citygate:problem:request-lapsed")
    assert book.artefact_of(CITIZEN, artefact.id).status == Status.REQUESTED


def test_only_the_subject_can_decide_and_others_learn_nothing(book):
    artefact = ask(book)
    with pytest.raises(Problem) as refused:
        book.change_status(SOMEONE_ELSE, artefact.id, Status.GIVEN)
    assert refused.value.status == 404
    with pytest.raises(Problem) as unknown:
        book.change_status(SOMEONE_ELSE, "no-such-id", Status.GIVEN)
    assert (refused.value.status, refused.value.detail) == (unknown.value.status, unknown.value.detail)
    assert book.artefact_of(CITIZEN, artefact.id).status == Status.REQUESTED


def test_withdrawal_denies_the_very_next_decision(book):
    artefact = book.change_status(CITIZEN, ask(book).id, Status.GIVEN)
    assert read(book).permitted
    book.change_status(CITIZEN, artefact.id, Status.WITHDRAWN)
    decision = read(book)
    assert not decision.permitted
    # and presenting the (still validly signed) receipt does not help
    presented = read(book, artefact=artefact.receipt)
    assert not presented.permitted and presented.reason == "the artefact is withdrawn"


def test_decisions_follow_the_artefact_and_every_one_is_logged_before_the_answer(book):
    assert read(book).reason == "no artefact covers this read"
    artefact = book.change_status(CITIZEN, ask(book).id, Status.GIVEN)
    allowed = read(book)
    assert (allowed.permitted, allowed.artefact_id) == (True, artefact.id)
    assert not read(book, category="pd:HealthRecord").permitted  # a category it does not name
    assert not read(book, citizen=SOMEONE_ELSE).permitted  # nobody else's data under it
    foreign = read(book, artefact=artefact.receipt, citizen=SOMEONE_ELSE)
    assert foreign.reason == "the artefact is about someone else"
    logged = book.ledger.entries(allowed.ledger_index, allowed.ledger_index + 1)[0]
    assert opens(logged.entry, logged.clear, logged.salt)  # the public leaf commits to the clear event
    entry = json.loads(logged.clear)
    assert entry | {"at": None} == {
        "v": 1,
        "kind": "access.permitted",
        "at": None,
        "holder": "pod",
        "subject": "pod-pseudonym",
        "subject_known_to": "pod",
        "recipient": "prescriptions",
        "category": "pd:Prescription",
        "purpose": "dpv:ServiceProvision",
        "processing": "dpv:Use",
        "artefact": artefact.id,
        "resource": "/prescriptions/1",
    }
    assert not read(book, processing="dpv:Store").permitted  # a consent to read is not one to store
    size = book.ledger.size()
    row = book.ledger.entries(allowed.ledger_index, allowed.ledger_index + 1)[0]
    assert verify_inclusion(
        leaf_hash(row.entry), row.index, size, book.ledger.inclusion_proof(row.index, size), book.ledger.root(size)
    )
    # there is no unlogged preview: every question is an entry, the refusals too
    assert read(book, category="pd:HealthRecord").ledger_index == size and book.ledger.size() == size + 1


def test_a_one_time_consent_permits_one_read_and_then_expires(book):
    artefact = book.change_status(CITIZEN, ask(book, mode=Mode.ONE_TIME).id, Status.GIVEN)
    assert read(book).permitted
    assert not read(book).permitted
    assert book.artefact_of(CITIZEN, artefact.id).status == Status.EXPIRED
    assert book.artefact_of(CITIZEN, artefact.id).events[-1]["reason"] == "used once"


def test_expiry_by_the_clock_is_a_logged_transition(book, clock):
    artefact = book.change_status(CITIZEN, ask(book, days=1).id, Status.GIVEN)
    clock.now = START + timedelta(days=1, seconds=1)
    decision = read(book)
    assert not decision.permitted
    expired = book.artefact_of(CITIZEN, artefact.id)
    assert expired.status == Status.EXPIRED and expired.events[-1]["reason"] == "validity ended"
    with pytest.raises(Problem) as stale:
        read(book, artefact=expired.receipt)
    assert (stale.value.status, stale.value.type) == (422, "urn:citygate:problem:artefact-expired")


def test_a_forged_or_foreign_receipt_is_refused_as_bad_input(book):
    artefact = book.change_status(CITIZEN, ask(book).id, Status.GIVEN)
    header, payload, signature = artefact.receipt.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    other_key = ConsentBook(
        ledger=book.ledger,
        signing_key=ECKey.generate_key("P-256", private=True),
        issuer="http://elsewhere",
        clock=book.clock,
    )
    foreign = other_key.request(
        CITIZEN,
        "prescriptions",
        ConsentRequestCreate(
            subject="x",
            purposes=["dpv:ServiceProvision"],
            categories=["pd:Prescription"],
            valid_until=START + timedelta(days=3),
        ),
    )
    for receipt in (forged, foreign.receipt, "not-a-jws"):
        with pytest.raises(Problem) as refused:
            read(book, artefact=receipt)
        assert (refused.value.status, refused.value.type) == (422, "urn:citygate:problem:invalid-artefact")


def test_the_receipt_is_a_canonical_signed_record_with_the_standard_fields(book):
    artefact = book.change_status(CITIZEN, ask(book).id, Status.GIVEN)
    document = verify_receipt(artefact.receipt, KeySet([book.signing_key]))
    assert document["record_id"] == artefact.id and document["status"] == "given" and document["version"] == 2
    assert document["pii_principal"] == {
        "id": "health-pseudonym",
        "id_type": "sector-pseudonym",
        "known_to": "prescriptions",
    }
    assert CITIZEN not in artefact.receipt and CITIZEN not in json.dumps(document)  # never the consent key
    for field in (
        "controller",
        "recipients",
        "purposes",
        "personal_data",
        "processing",
        "legal_basis",
        "valid_until",
        "withdrawal",
        "events",
        "notice",
    ):
        assert document[field], field
    assert document["purposes"][0]["id"] == "https://w3id.org/dpv#ServiceProvision"
    assert [event["status"] for event in document["events"]] == ["requested", "given"]
    with pytest.raises(InvalidReceipt):
        verify_receipt(artefact.receipt, KeySet([ECKey.generate_key("P-256", private=True)]))


def test_other_legal_bases_are_recorded_in_force_and_cannot_be_withdrawn(book):
    basis = book.record_basis(
        CITIZEN,
        "prescriptions",
        LegalBasisCreate(
            subject="health-pseudonym",
            legal_basis="dpv:LegalObligation",
            law_reference=MEDICAL_RECORDS_RETENTION,
            purposes=["dpv:LegalCompliance"],
            categories=["pd:Prescription"],
            processing=["dpv:Store"],
            valid_until=START + timedelta(days=365),
        ),
    )
    assert basis.status == Status.GIVEN and basis.legal_basis == "dpv:LegalObligation"
    assert "cannot be withdrawn" in summary_of(basis)
    with pytest.raises(Problem) as refused:
        book.change_status(CITIZEN, basis.id, Status.WITHDRAWN)
    assert (refused.value.status, refused.value.type) == (409, "urn:citygate:problem:not-consent-based")
    assert [a.id for a in book.artefacts_of(CITIZEN)] == [basis.id]


def test_unknown_terms_and_impossible_validity_are_refused_before_anything_is_written(book):
    size = book.ledger.size()
    with pytest.raises(Problem) as unknown:
        book.request(
            CITIZEN,
            "prescriptions",
            ConsentRequestCreate(
                subject="x",
                purposes=["dpv:Surveillance"],
                categories=["pd:Prescription", "pd:Soul"],
                valid_until=START + timedelta(days=3),
            ),
        )
    assert unknown.value.status == 422
    assert unknown.value.extensions["unknown"] == {"purposes": ["dpv:Surveillance"], "categories": ["pd:Soul"]}
    for valid_until in (START - timedelta(seconds=1), START + timedelta(days=4000)):
        with pytest.raises(Problem) as invalid:
            book.request(
                CITIZEN,
                "prescriptions",
                ConsentRequestCreate(
                    subject="x",
                    purposes=["dpv:ServiceProvision"],
                    categories=["pd:Prescription"],
                    valid_until=valid_until,
                ),
            )
        assert invalid.value.type == "urn:citygate:problem:invalid-validity"
    assert book.ledger.size() == size and book.artefacts_of(CITIZEN) == []
