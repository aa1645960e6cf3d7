"""The traffic police's rules without HTTP: status, the overdue sweep and its outbox, paying."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from kernel.payers import AnyoneWithTheReference, LiablePartyPays
from kernel.payment_confirmations import PaymentConfirmation
from kernel.personas import by_handle
from kernel.problems import IdempotencyKeyReused
from services.fines.credit_reporting import ReportNothing, ReportToCreditPlatform, pending_entries
from services.fines.demo import DEFAULTER_PLATE, chen_juns_car, li_weis_car, register_demo_car
from services.fines.domain import (
    CHINA_STANDARD_TIME,
    china_date,
    fines_for_citizen,
    get_fine,
    mark_overdue_fines,
    overdue_since,
    record_fine,
    status_on,
)
from services.fines.errors import FineAlreadyPaid, FineNotFound, PayerNotOwner, PaymentMismatch, ReceiptNotFound
from services.fines.models import (
    CreditOutboxEntry,
    FineCreate,
    FineSource,
    FinesTable,
    FineStatus,
    OutboxAction,
    Payment,
    Vehicle,
)
from services.fines.payments import pay_fine, receipt_for
from tests.fixtures.databases import sqlite_session
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.narrowing import present

LI_WEI, CHEN_JUN = by_handle("li-wei").resident_id, by_handle("chen-jun").resident_id
PLATFORM, RIGHTS = ReportToCreditPlatform(), ReportNothing()
OWNER_PAYS = LiablePartyPays()
# 2026-11-23 16:00 in Guangzhou: Chen Jun's fine (due 2026-10-15) is overdue, Li Wei's are not
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SEEDED_ON = date(2026, 11, 23)  # Li Wei's fines are dated relative to the seed day: due 1 and 24 December


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, FinesTable.metadata) as session:
        register_demo_car(session, LI_WEI, li_weis_car(SEEDED_ON))
        register_demo_car(session, CHEN_JUN, chen_juns_car())
        session.commit()
        yield session


def fine_id_of(session: Session, plate: str, index: int = 0) -> int:
    owner = present(session.get(Vehicle, plate)).owner_ref
    return sorted(present(fine.id) for fine in fines_for_citizen(session, owner))[index]


def confirmation(
    fine_id: int,
    *,
    key: str = "key-1",
    payer: str = CHEN_JUN,
    amount: int = 20000,
    payment_id: str = "pay-1",
    **overrides,
) -> PaymentConfirmation:
    claims: dict[str, Any] = {
        "payment_id": payment_id,
        "payer": payer,
        "payee": "fines",
        "reference": str(fine_id),
        "amount_cents": amount,
        "currency": "CNY",
        "idempotency_key": key,
        "statement": "signed-statement",
    }
    claims.update(overrides)
    return PaymentConfirmation(**claims)


LIABLE_PARTY_PAYS = LiablePartyPays()  # the default payer rule (a stateless policy object)


def pay(
    session: Session,
    fine_id: int,
    *,
    key: str = "key-1",
    reporting=PLATFORM,
    now: datetime = NOW,
    payer_rule=OWNER_PAYS,
    **claims,
):
    return pay_fine(
        session,
        fine_id,
        idempotency_key=key,
        confirmation=confirmation(fine_id, key=key, **claims),
        payee="fines",
        now=now,
        reporting=reporting,
        payer_rule=payer_rule,
    )


# --- status ------------------------------------------------------------------------------------


def test_overdue_means_unpaid_after_the_due_date_in_guangzhou(session: Session):
    fine = get_fine(session, fine_id_of(session, DEMO_PLATE))  # due 2026-12-01
    assert status_on(fine, date(2026, 12, 1)) == FineStatus.UNPAID
    assert status_on(fine, date(2026, 12, 2)) == FineStatus.OVERDUE
    # 2026-12-01 17:00 UTC is already 2 December in Guangzhou
    assert china_date(datetime(2026, 12, 1, 17, 0, tzinfo=UTC)) == date(2026, 12, 2)
    assert overdue_since(fine) == datetime(2026, 12, 2, tzinfo=CHINA_STANDARD_TIME)
    fine.status = FineStatus.PAID
    assert status_on(fine, date(2027, 1, 1)) == FineStatus.PAID


def test_a_citizens_fines_span_their_vehicles_and_a_stranger_has_none(session: Session):
    record_fine(
        session,
        FineCreate(
            plate=DEFAULTER_PLATE,
            offence="Speeding",
            place="Airport Expressway",
            amount_cents=5000,
            occurred_at=datetime(2026, 11, 1, 9, 0, tzinfo=CHINA_STANDARD_TIME),
            due_date=date(2026, 12, 31),
        ),
    )
    session.add(Vehicle(plate="粤B00002", owner_ref=CHEN_JUN))
    session.commit()
    record_fine(
        session,
        FineCreate(
            plate="粤B00002",
            offence="Parking on a pavement",
            place="Haizhu Square",
            amount_cents=10000,
            occurred_at=datetime(2026, 10, 1, 9, 0, tzinfo=CHINA_STANDARD_TIME),
            due_date=date(2026, 11, 30),
            source=FineSource.PARKING_WARDEN,
        ),
    )
    fines = fines_for_citizen(session, CHEN_JUN)
    assert [(fine.plate, fine.offence) for fine in fines] == [
        (DEFAULTER_PLATE, "Illegal parking"),
        ("粤B00002", "Parking on a pavement"),
        (DEFAULTER_PLATE, "Speeding"),
    ]
    assert [fine.occurred_at.tzinfo for fine in fines] == [UTC] * 3  # stored as UTC, read back aware
    assert fines_for_citizen(session, "nobody") == []


# --- the overdue sweep -------------------------------------------------------------------------


def test_the_sweep_marks_overdue_once_and_the_platform_reports_it_in_the_same_transaction(session: Session):
    marked = mark_overdue_fines(session, now=NOW, reporting=PLATFORM)
    assert [fine.plate for fine in marked] == [DEFAULTER_PLATE]
    assert mark_overdue_fines(session, now=NOW, reporting=PLATFORM) == []
    [entry] = pending_entries(session)
    assert (entry.action, entry.fine_id, entry.subject, entry.amount_cents) == (
        OutboxAction.REPORT,
        marked[0].id,
        CHEN_JUN,
        20000,
    )
    assert entry.occurred_at == datetime(2026, 10, 16, tzinfo=CHINA_STANDARD_TIME)
    # a month later Li Wei's first fine falls overdue too
    later = mark_overdue_fines(session, now=datetime(2026, 12, 2, 1, 0, tzinfo=UTC), reporting=PLATFORM)
    assert [fine.due_date for fine in later] == [date(2026, 12, 1)]
    assert [entry.subject for entry in pending_entries(session)] == [CHEN_JUN, LI_WEI]


def test_in_the_rights_regime_the_sweep_marks_overdue_and_writes_nothing_for_anyone_else(session: Session):
    [fine] = mark_overdue_fines(session, now=NOW, reporting=RIGHTS)
    assert get_fine(session, present(fine.id)).status == FineStatus.OVERDUE
    assert session.exec(select(CreditOutboxEntry)).all() == []


# --- paying ------------------------------------------------------------------------------------


def test_paying_gives_a_receipt_and_the_same_request_again_gives_it_again(session: Session):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    payment, created = pay(session, fine_id)
    assert created and payment.amount_cents == 20000 and payment.payment_id == "pay-1"
    assert payment.paid_at == NOW and payment.receipt_id.startswith("R-")
    again, created_again = pay(session, fine_id, now=NOW + timedelta(minutes=5))
    assert not created_again and again.receipt_id == payment.receipt_id and again.paid_at == NOW
    assert receipt_for(session, fine_id).receipt_id == payment.receipt_id
    assert get_fine(session, fine_id).status == FineStatus.PAID
    assert len(session.exec(select(Payment)).all()) == 1


def test_the_same_key_with_another_payload_is_refused(session: Session):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    pay(session, fine_id)
    with pytest.raises(IdempotencyKeyReused) as raised:
        pay(session, fine_id, payment_id="pay-2")
    assert raised.value.status == 409
    li_weis = fine_id_of(session, DEMO_PLATE)
    with pytest.raises(IdempotencyKeyReused):  # the same key for another fine
        pay(session, li_weis, payer=LI_WEI)


def test_a_fine_paid_under_one_key_is_not_paid_again_under_another(session: Session):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    pay(session, fine_id)
    with pytest.raises(FineAlreadyPaid) as raised:
        pay(session, fine_id, key="key-2", payment_id="pay-2")
    assert raised.value.status == 409
    assert len(session.exec(select(Payment)).all()) == 1


@pytest.mark.parametrize(
    ("claims", "mismatched"),
    [
        ({"amount": 100}, ["amount_cents"]),
        ({"payee": "prescriptions"}, ["payee"]),
        ({"reference": "999"}, ["reference"]),
        ({"currency": "EUR"}, ["currency"]),
        ({"idempotency_key": "another"}, ["idempotency_key"]),
    ],
)
def test_a_confirmation_for_another_payment_is_refused(session: Session, claims, mismatched):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    with pytest.raises(PaymentMismatch) as raised:
        pay(session, fine_id, **claims)
    assert raised.value.status == 422 and raised.value.extensions["mismatched"] == mismatched
    assert get_fine(session, fine_id).status == FineStatus.UNPAID
    assert receipt_for_missing(session, fine_id)


def receipt_for_missing(session: Session, fine_id: int) -> bool:
    with pytest.raises(ReceiptNotFound):
        receipt_for(session, fine_id)
    return True


def test_only_the_owner_may_pay_and_an_unknown_fine_is_not_found(session: Session):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    with pytest.raises(PayerNotOwner):
        pay(session, fine_id, payer=LI_WEI)
    with pytest.raises(FineNotFound) as raised:
        pay(session, 999)
    assert raised.value.status == 404
    with pytest.raises(FineNotFound):
        receipt_for(session, 999)


def test_in_the_rights_regime_anyone_may_pay_a_fine_by_its_reference(session: Session):
    """The wallet cannot name the owner's transport pseudonym; it names an opaque per-payment payer,
    which is kept as given. Everything else the confirmation asserts is still checked."""
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    with pytest.raises(PaymentMismatch):
        pay(session, fine_id, payer="wallet:pay-1", amount=1, payer_rule=AnyoneWithTheReference())
    payment, created = pay(session, fine_id, payer="wallet:pay-1", payer_rule=AnyoneWithTheReference())
    assert created and payment.payer_ref == "wallet:pay-1"
    assert get_fine(session, fine_id).status == FineStatus.PAID


def test_paying_a_reported_fine_queues_its_settlement_and_an_unreported_one_nothing(session: Session):
    mark_overdue_fines(session, now=NOW, reporting=PLATFORM)
    chen_juns, li_weis = fine_id_of(session, DEFAULTER_PLATE), fine_id_of(session, DEMO_PLATE)
    pay(session, chen_juns)
    pay(session, li_weis, key="key-2", payer=LI_WEI, payment_id="pay-2")
    entries = pending_entries(session)
    assert [(entry.action, entry.fine_id) for entry in entries] == [
        (OutboxAction.REPORT, chen_juns),
        (OutboxAction.SETTLE, chen_juns),
    ]
    assert entries[1].occurred_at == NOW and entries[1].subject is None


def test_a_fine_paid_before_the_sweep_reached_it_is_never_reported(session: Session):
    fine_id = fine_id_of(session, DEFAULTER_PLATE)
    pay(session, fine_id)  # overdue by the calendar, but the sweep has not stored it yet
    assert mark_overdue_fines(session, now=NOW, reporting=PLATFORM) == []
    assert pending_entries(session) == []


def test_in_the_rights_regime_paying_writes_no_outbox_entry(session: Session):
    mark_overdue_fines(session, now=NOW, reporting=RIGHTS)
    pay(session, fine_id_of(session, DEFAULTER_PLATE), reporting=RIGHTS)
    assert session.exec(select(CreditOutboxEntry)).all() == []
