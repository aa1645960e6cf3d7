"""The hospital and pharmacy's domain without HTTP: issuing, paying, dispensing, delivery, and both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc.jwk import ECKey, KeySet
from pydantic import ValidationError
from rdflib import Graph, Literal, URIRef
from sqlalchemy import inspect
from sqlmodel import Session, func, select

from kernel.dependencies import idempotency_key
from kernel.payers import AnyoneWithTheReference, LiablePartyPays
from kernel.payment_confirmations import InvalidPaymentConfirmation, payment_confirmation
from kernel.problems import IdempotencyKeyMissing, IdempotencyKeyReused, InvalidIdempotencyKey, Problem
from kernel.regime import Regime
from services.prescriptions import domain, errors, payments
from services.prescriptions.delivery import HandOverDirectly
from services.prescriptions.demo import DEMO_PRESCRIPTION_ID, demo_draft, issue_demo_prescription
from services.prescriptions.errors import NoDeliveryConsent
from services.prescriptions.models import (
    ContentsLocation,
    DeliveryOrder,
    DeliveryOrderCreate,
    DispensationCreate,
    Payment,
    Prescription,
    PrescriptionContent,
    PrescriptionContents,
    PrescriptionCreate,
    PrescriptionsTable,
    PrescriptionStatus,
)
from services.prescriptions.pod_document import (
    RX,
    NotAPrescription,
    PrescriptionAltered,
    digest_of,
    from_turtle,
    sign,
    signed_contents,
    signed_payload,
    to_turtle,
)
from services.prescriptions.pod_store import PodStore
from services.prescriptions.policy import policy_for
from services.prescriptions.stores import DepartmentStore
from tests.fixtures.databases import sqlite_session

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PATIENT = "patient-subject"
STORE = DepartmentStore()
DIRECT = HandOverDirectly()
PATIENT_PAYS = LiablePartyPays()


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, PrescriptionsTable.metadata) as session:
        yield session


def draft(**overrides) -> PrescriptionCreate:
    return PrescriptionCreate.model_validate(demo_draft(PATIENT).model_dump() | overrides)


def claims(prescription_id: str, key: str = "key-1", **overrides) -> dict:
    return {
        "payment_id": "wallet-1",
        "payer": PATIENT,
        "payee": "prescriptions",
        "reference": prescription_id,
        "amount_cents": 1860,
        "currency": "CNY",
        "idempotency_key": key,
        "iat": 1,
    } | overrides


def pay(session: Session, prescription_id: str, key: str = "key-1", payer_rule=PATIENT_PAYS, **overrides):
    confirmation = payment_confirmation(
        claims(prescription_id, key, **overrides), "jws", max_claim_length=payments.MAX_CLAIM_LENGTH
    )
    return payments.pay(
        session,
        prescription_id,
        confirmation,
        idempotency_key=key,
        now=NOW,
        payer_rule=payer_rule,
    )


def nothing() -> Any:
    """The client or key a store is built with, where the test never has it call out."""
    return None


def refused(problem: type[Problem] | int, call, *args, **kwargs) -> Problem:
    with pytest.raises(Problem) as raised:
        call(*args, **kwargs)
    if isinstance(problem, int):
        assert raised.value.status == problem
    else:
        assert isinstance(raised.value, problem), raised.value
    return raised.value


def count(session: Session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


# --- the policy ------------------------------------------------------------------------------------


def unused() -> Any:
    """A dependency the code under test must not reach for (a service client, a signing key)."""
    raise AssertionError("not used here")


def test_each_regime_chooses_its_store_and_who_may_pay():
    platform, rights = (
        policy_for(Regime.PLATFORM, unused, unused),
        policy_for(Regime.RIGHTS, unused, unused),
    )
    assert isinstance(platform.store, DepartmentStore) and isinstance(platform.payer_rule, LiablePartyPays)
    assert isinstance(rights.store, PodStore) and isinstance(rights.payer_rule, AnyoneWithTheReference)


# --- issuing and reading ---------------------------------------------------------------------------


def test_an_issued_prescription_is_read_back_with_its_contents(session):
    issued = domain.issue(session, STORE, draft(diagnosis_code=" e11.9 "), now=NOW)
    assert issued.id.startswith("rx-") and issued.status == "issued"
    read = domain.prescription(session, STORE, issued.id)
    assert read == issued
    assert (read.medication, read.quantity, read.diagnosis_code, read.patient) == (
        "Metformin hydrochloride 500 mg tablets",
        60,
        "E11.9",
        PATIENT,
    )
    stored = session.get(Prescription, issued.id)
    assert stored.contents_in == ContentsLocation.DEPARTMENT and stored.pod_ref is None


def test_a_patients_prescriptions_come_oldest_first_and_nobody_elses(session):
    later = domain.issue(session, STORE, draft(medication="Later"), now=NOW + timedelta(days=1))
    earlier = domain.issue(session, STORE, draft(medication="Earlier"), now=NOW)
    domain.issue(session, STORE, draft(patient="someone-else"), now=NOW)
    assert [p.id for p in domain.prescriptions_of(session, STORE, PATIENT)] == [earlier.id, later.id]
    assert domain.prescriptions_of(session, STORE, "nobody") == []


def test_an_unknown_prescription_is_not_found(session):
    refused(errors.PrescriptionNotFound, domain.prescription, session, STORE, "rx-nope")


@pytest.mark.parametrize(
    "overrides",
    [
        {"diagnosis_code": "E1"},
        {"diagnosis_code": "11.9"},
        {"diagnosis_code": "E11.12345"},
        {"diagnosis_code": ""},
        {"quantity": 0},
        {"quantity": -1},
        {"amount_cents": -1},
        {"medication": "  "},
        {"dose": ""},
        {"prescriber": ""},
        {"patient": ""},
        {"medication": "x" * 201},
    ],
)
def test_a_malformed_prescription_is_refused(overrides):
    with pytest.raises(ValidationError):
        draft(**overrides)


def test_the_same_prescription_number_twice_is_a_conflict_and_the_demo_seed_is_idempotent(session):
    for _ in range(2):
        issue_demo_prescription(session, STORE, PATIENT)
    assert count(session, Prescription) == 1 and count(session, PrescriptionContent) == 1
    refused(
        errors.PrescriptionExists, domain.issue, session, STORE, draft(), now=NOW, prescription_id=DEMO_PRESCRIPTION_ID
    )


# --- paying ----------------------------------------------------------------------------------------


def test_paying_files_the_confirmation_and_a_replay_gets_the_same_receipt(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    receipt, created = pay(session, rx.id)
    assert created and receipt.amount_cents == 1860 and receipt.prescription_id == rx.id
    again, created_again = pay(session, rx.id)
    assert (again, created_again) == (receipt, False)
    assert count(session, Payment) == 1
    assert domain.prescription(session, STORE, rx.id).status == PrescriptionStatus.PAID


def test_a_reused_key_or_a_second_payment_is_a_conflict(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    other = domain.issue(session, STORE, draft(), now=NOW)
    pay(session, rx.id, "key-1")
    refused(IdempotencyKeyReused, pay, session, rx.id, "key-1", payment_id="wallet-2")
    refused(IdempotencyKeyReused, pay, session, other.id, "key-1")
    refused(errors.AlreadyPaid, pay, session, rx.id, "key-2")
    assert count(session, Payment) == 1


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"payer": "someone-else"}, errors.PayerNotPatient),
        ({"payee": "fines"}, errors.ConfirmationMismatch),
        ({"reference": "rx-other"}, errors.ConfirmationMismatch),
        ({"idempotency_key": "other-key"}, errors.ConfirmationMismatch),
        ({"amount_cents": 1}, errors.ConfirmationMismatch),
        ({"currency": "EUR"}, errors.ConfirmationMismatch),
        ({"amount_cents": "1860"}, InvalidPaymentConfirmation),
        ({"amount_cents": True}, InvalidPaymentConfirmation),
        ({"payment_id": None}, InvalidPaymentConfirmation),
    ],
)
def test_a_confirmation_that_does_not_fit_the_payment_is_refused(session, overrides, problem):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    assert refused(problem, pay, session, rx.id, **overrides).status == 422
    assert count(session, Payment) == 0
    assert domain.prescription(session, STORE, rx.id).status == PrescriptionStatus.ISSUED


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (None, IdempotencyKeyMissing),
        ("", InvalidIdempotencyKey),
        ("has space", InvalidIdempotencyKey),
        ("k" * 201, InvalidIdempotencyKey),
    ],
)
def test_a_payment_needs_a_well_formed_idempotency_key(key, problem):
    """The kernel's one Idempotency-Key check (``IdempotencyKeyDep``), which the payment route depends on."""
    with pytest.raises(problem):
        idempotency_key(key)


def test_in_the_rights_regime_anyone_may_pay_a_prescription_by_its_reference(session):
    """The wallet cannot name the patient's health-sector pseudonym, so its opaque payer is not compared;
    the amount is still checked."""
    rx = domain.issue(session, STORE, draft(), now=NOW)
    refused(
        errors.ConfirmationMismatch,
        pay,
        session,
        rx.id,
        payer="wallet:w-1",
        amount_cents=1,
        payer_rule=AnyoneWithTheReference(),
    )
    receipt, created = pay(session, rx.id, payer="wallet:w-1", payer_rule=AnyoneWithTheReference())
    assert created and session.get(Payment, receipt.receipt_id).payer == "wallet:w-1"


def test_paying_an_unknown_prescription_is_not_found(session):
    refused(errors.PrescriptionNotFound, pay, session, "rx-nope")


# --- dispensing and delivery -----------------------------------------------------------------------


def test_only_a_paid_prescription_is_dispensed_and_only_once(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    order = DispensationCreate(pharmacy="Liwan Pharmacy")
    refused(errors.NotPaid, domain.dispense, session, STORE, rx.id, order, now=NOW)
    pay(session, rx.id)
    dispensed = domain.dispense(session, STORE, rx.id, order, now=NOW)
    assert (dispensed.pharmacy, dispensed.medication, dispensed.quantity) == (
        "Liwan Pharmacy",
        "Metformin hydrochloride 500 mg tablets",
        60,
    )
    assert "diagnosis_code" not in dispensed.model_dump()  # the pharmacy needs what, not why
    refused(errors.AlreadyDispensed, domain.dispense, session, STORE, rx.id, order, now=NOW)
    refused(errors.PrescriptionNotFound, domain.dispense, session, STORE, "rx-nope", order, now=NOW)
    assert domain.prescription(session, STORE, rx.id).status == PrescriptionStatus.DISPENSED


def test_a_delivery_order_holds_only_a_parcel_and_an_address(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    address = "45 Zhongshan 8th Road, Liwan District, Guangzhou"
    refused(errors.NotDispensed, domain.order_delivery, session, DIRECT, rx.id, DeliveryOrderCreate(address=address))
    pay(session, rx.id)
    domain.dispense(session, STORE, rx.id, DispensationCreate(pharmacy="Liwan Pharmacy"), now=NOW)
    order = domain.order_delivery(session, DIRECT, rx.id, DeliveryOrderCreate(address=f"  {address} "))
    assert order.model_dump() == {"parcel_id": order.parcel_id, "address": address, "consent_ledger_index": None}
    assert rx.id not in order.parcel_id
    assert [column["name"] for column in inspect(session.get_bind()).get_columns("delivery_order")] == [
        "address",
        "parcel_id",
    ]
    assert [row.model_dump() for row in session.exec(select(DeliveryOrder)).all()] == [
        order.model_dump(exclude={"consent_ledger_index"})
    ]
    assert domain.prescription(session, STORE, rx.id).parcel_id == order.parcel_id
    refused(
        errors.DeliveryAlreadyOrdered,
        domain.order_delivery,
        session,
        DIRECT,
        rx.id,
        DeliveryOrderCreate(address=address),
    )
    assert count(session, DeliveryOrder) == 1


class ConsentDesk:
    """A delivery desk that answers as the consent service would, and remembers when it was asked."""

    def __init__(self, permitted: bool) -> None:
        self.permitted = permitted
        self.asked: list[tuple[str, PrescriptionStatus, str | None]] = []

    def request_consent(self, record):
        raise AssertionError("not used here")

    def before_handover(self, record):
        self.asked.append((record.id, record.status, record.parcel_id))
        if not self.permitted:
            raise NoDeliveryConsent(record.id, "no artefact covers this read")
        return 41


def test_the_courier_order_waits_for_the_desk_and_a_refusal_writes_nothing(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    address = "45 Zhongshan 8th Road, Liwan District, Guangzhou"
    refusing, permitting = ConsentDesk(False), ConsentDesk(True)
    refused(errors.NotDispensed, domain.order_delivery, session, refusing, rx.id, DeliveryOrderCreate(address=address))
    assert refusing.asked == []  # not asked for an order that could not be placed anyway
    pay(session, rx.id)
    domain.dispense(session, STORE, rx.id, DispensationCreate(pharmacy="Liwan Pharmacy"), now=NOW)
    refused(NoDeliveryConsent, domain.order_delivery, session, refusing, rx.id, DeliveryOrderCreate(address=address))
    assert refusing.asked == [(rx.id, PrescriptionStatus.DISPENSED, None)]
    assert count(session, DeliveryOrder) == 0 and domain.prescription(session, STORE, rx.id).parcel_id is None
    order = domain.order_delivery(session, permitting, rx.id, DeliveryOrderCreate(address=address))
    assert (order.address, order.consent_ledger_index) == (address, 41)
    refused(
        errors.DeliveryAlreadyOrdered,
        domain.order_delivery,
        session,
        permitting,
        rx.id,
        DeliveryOrderCreate(address=address),
    )
    assert len(permitting.asked) == 1 and count(session, DeliveryOrder) == 1


def test_the_platform_asks_no_delivery_consent(session):
    rx = domain.issue(session, STORE, draft(), now=NOW)
    assert refused(409, domain.request_delivery_consent, session, DIRECT, rx.id).type.endswith(":no-consent-asked")
    refused(errors.PrescriptionNotFound, domain.request_delivery_consent, session, DIRECT, "rx-nope")


@pytest.mark.parametrize("address", ["", "   ", "x" * 501])
def test_a_delivery_needs_an_address(address):
    with pytest.raises(ValidationError):
        DeliveryOrderCreate(address=address)


# --- the pod store (rights regime; its HTTP side is in test_prescriptions_rights.py) ---------------


def test_the_pod_store_needs_the_patients_pod_and_writes_nothing_without_it(session):
    with pytest.raises(Problem) as raised:
        domain.issue(session, PodStore(unused, unused), draft(), now=NOW)
    assert (raised.value.status, raised.value.type) == (422, "urn:citygate:problem:pod-required")
    assert count(session, Prescription) == count(session, PrescriptionContent) == 0


def test_a_prescription_document_reads_back_as_it_was_written():
    contents = PrescriptionContents.model_validate(draft().model_dump())
    url = "http://pod.test/pods/p1/prescriptions/rx-1"
    document = to_turtle(url, "rx-1", NOW, contents, "signature")
    assert from_turtle(document, url) == contents
    graph = Graph().parse(data=document, format="turtle", publicID=url)
    quantity = graph.value(URIRef(url), RX.quantity)
    assert isinstance(quantity, Literal) and str(quantity.datatype) == "http://www.w3.org/2001/XMLSchema#integer"
    assert str(graph.value(URIRef(url), RX.identifier)) == "rx-1"


@pytest.mark.parametrize(
    "document",
    [
        b"<<not turtle",
        b"<http://x/a> <http://x/b> 1 .",  # no rx:Prescription
        b"@prefix rx: <https://citygate.example/ns/prescription#> . <#a> a rx:Prescription . <#b> a rx:Prescription .",
        b'@prefix rx: <https://citygate.example/ns/prescription#> . <#a> a rx:Prescription ; rx:medication "m" .',
    ],
)
def test_what_is_not_one_prescription_is_refused(document):
    with pytest.raises(NotAPrescription):
        from_turtle(document, "http://pod.test/pods/p1/prescriptions/rx-1")


def test_a_stored_document_with_a_bad_diagnosis_code_is_refused():
    contents = PrescriptionContents.model_validate(draft().model_dump())
    url = "http://pod.test/pods/p1/prescriptions/rx-1"
    tampered = to_turtle(url, "rx-1", NOW, contents, "signature").replace(b'"E11.9"', b'"not-icd"')
    with pytest.raises(NotAPrescription):
        from_turtle(tampered, url)


def test_only_the_hospitals_signature_bound_to_this_prescription_and_digest_is_dispensable():
    hospital, someone = (ECKey.generate_key("P-256", private=True) for _ in range(2))
    contents = PrescriptionContents.model_validate(draft().model_dump())
    url = "http://pod.test/pods/p1/prescriptions/rx-1"
    payload = signed_payload(prescription_id="rx-1", pod_ref=url, patient=PATIENT, issued_at=NOW, contents=contents)
    check: dict[str, Any] = {"prescription_id": "rx-1", "patient": PATIENT, "digest": digest_of(payload)}
    genuine = to_turtle(url, "rx-1", NOW, contents, sign(payload, hospital))
    assert signed_contents(genuine, url, KeySet([hospital]), **check) == contents
    assert PATIENT not in genuine.decode()  # bound to her by a commitment, not by her health-sector subject
    forgeries = {
        "another key": to_turtle(url, "rx-1", NOW, contents, sign(payload, someone)),
        "another patient": to_turtle(
            url,
            "rx-1",
            NOW,
            contents,
            sign(
                signed_payload(
                    prescription_id="rx-1", pod_ref=url, patient="someone-else", issued_at=NOW, contents=contents
                ),
                hospital,
            ),
        ),
        "another place": to_turtle(
            url,
            "rx-1",
            NOW,
            contents,
            sign(
                signed_payload(
                    prescription_id="rx-1", pod_ref=url + "-copy", patient=PATIENT, issued_at=NOW, contents=contents
                ),
                hospital,
            ),
        ),
        "two signatures": genuine + f'\n<{url}> <{RX.signature}> "{sign(payload, hospital)}x" .'.encode(),
        "not one prescription": genuine + f"\n<{url}-2> a <{RX.Prescription}> .".encode(),
        "a second medication": genuine + f'\n<{url}> <{RX.medication}> "Oxycodone" .'.encode(),
        "not Turtle": b"<<not turtle",
    }
    for what, document in forgeries.items():
        try:
            signed_contents(document, url, KeySet([hospital]), **check)
        except PrescriptionAltered:
            continue
        pytest.fail(f"accepted a forgery: {what}")
    with pytest.raises(PrescriptionAltered):  # the record's digest is of other contents
        signed_contents(genuine, url, KeySet([hospital]), **check | {"digest": "0" * 64})
    with pytest.raises(PrescriptionAltered):  # a record from before signing has no digest: nothing to trust
        signed_contents(genuine, url, KeySet([hospital]), **check | {"digest": None})  # no digest, on purpose
