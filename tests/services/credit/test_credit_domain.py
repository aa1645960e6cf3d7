"""The credit platform's domain without HTTP: records, settlement and its lag, the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from kernel.personas import by_handle
from kernel.resident_id import make_resident_id
from services.credit.domain import is_active, push_record, restrictions, settle_record
from services.credit.errors import ConflictingRecord, InvalidSubject, NotTheSource, RecordNotFound
from services.credit.models import CreditRecord, CreditRecordCreate, CreditTable
from services.credit.rules import JOINT_PUNISHMENT, RecordKind, RestrictedService, rules_for
from tests.fixtures.databases import sqlite_session
from tests.fixtures.narrowing import present

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CITIZEN = by_handle("wang-fang").resident_id
APPOINTMENTS = RestrictedService.APPOINTMENTS


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, CreditTable.metadata) as session:
        yield session


def fine(
    reference: str = "17",
    *,
    subject: str = CITIZEN,
    amount_cents: int = 20000,
    kind: RecordKind = RecordKind.OVERDUE_FINE,
) -> CreditRecordCreate:
    return CreditRecordCreate(subject=subject, kind=kind, reference=reference, amount_cents=amount_cents)


def count(session: Session) -> int:
    return len(session.exec(select(CreditRecord)).all())


# --- the rules table ------------------------------------------------------------------------------


def test_every_kind_restricts_something_and_an_overdue_fine_blocks_appointments():
    assert {rule.kind for rule in JOINT_PUNISHMENT} == set(RecordKind)
    assert RecordKind.OVERDUE_FINE in rules_for(APPOINTMENTS)
    assert set(rules_for(RestrictedService.HOTEL_BOOKING)) == {RecordKind.UNPAID_COURT_JUDGMENT}
    pairs = [(rule.kind, rule.service) for rule in JOINT_PUNISHMENT]
    assert len(pairs) == len(set(pairs)), "one row per (kind, service)"


# --- reporting --------------------------------------------------------------------------------------


def test_a_pushed_record_keeps_its_source_and_time(session: Session):
    record, created = push_record(session, fine(), source="fines", now=NOW)
    assert created
    assert (record.subject, record.source, record.reference, record.kind) == (CITIZEN, "fines", "17", "overdue-fine")
    assert record.recorded_at.replace(tzinfo=UTC) == NOW
    assert (record.settled_at, record.effective_at) == (None, None)


def test_the_same_report_twice_is_the_existing_record(session: Session):
    first, _ = push_record(session, fine(), source="fines", now=NOW)
    again, created = push_record(session, fine(), source="fines", now=NOW + timedelta(days=1))
    assert not created
    assert again.id == first.id and again.recorded_at == first.recorded_at
    assert count(session) == 1


def test_the_same_reference_from_another_source_is_another_record(session: Session):
    push_record(session, fine(), source="fines", now=NOW)
    _, created = push_record(session, fine(kind=RecordKind.UNPAID_COURT_JUDGMENT), source="courts", now=NOW)
    assert created and count(session) == 2


def test_a_reference_reported_again_with_other_details_is_a_conflict_and_changes_nothing(session: Session):
    push_record(session, fine(amount_cents=20000), source="fines", now=NOW)
    with pytest.raises(ConflictingRecord) as raised:
        push_record(session, fine(amount_cents=1), source="fines", now=NOW)
    assert raised.value.status == 409
    [record] = session.exec(select(CreditRecord)).all()
    assert record.amount_cents == 20000


def test_the_subject_must_be_a_resident_id_and_is_stored_normalised(session: Session):
    with pytest.raises(InvalidSubject) as raised:
        push_record(session, fine(subject="440104199008232151"), source="fines", now=NOW)  # wrong check digit
    assert raised.value.status == 422 and "check character" in present(raised.value.detail)
    assert count(session) == 0
    # people type the check character 'X' in lower case
    with_x = next(rid for n in range(1000) if (rid := make_resident_id("440106", date(1980, 1, 1), n)).endswith("X"))
    record, _ = push_record(session, fine(subject=with_x.lower()), source="fines", now=NOW)
    assert record.subject == with_x
    assert restrictions(session, with_x.lower(), APPOINTMENTS, now=NOW).restricted


# --- settlement and its lag ------------------------------------------------------------------------


def test_settlement_without_lag_lifts_the_restriction_at_once(session: Session):
    push_record(session, fine(), source="fines", now=NOW)
    assert restrictions(session, CITIZEN, APPOINTMENTS, now=NOW).restricted
    record = settle_record(session, source="fines", reference="17", settled_by="fines", lag=timedelta(0), now=NOW)
    assert record.settled_at is not None and record.effective_at == record.settled_at
    assert not is_active(record, NOW)
    assert not restrictions(session, CITIZEN, APPOINTMENTS, now=NOW).restricted


def test_a_paid_debt_still_blocks_until_the_settlement_is_effective(session: Session):
    push_record(session, fine(), source="fines", now=NOW)
    settle_record(session, source="fines", reference="17", settled_by="fines", lag=timedelta(minutes=5), now=NOW)

    during = restrictions(session, CITIZEN, APPOINTMENTS, now=NOW + timedelta(minutes=4, seconds=59))
    assert during.restricted
    [reason] = during.reasons
    assert reason.settled_at == NOW and reason.effective_at == NOW + timedelta(minutes=5)
    assert reason.measure == rules_for(APPOINTMENTS)[RecordKind.OVERDUE_FINE]

    assert not restrictions(session, CITIZEN, APPOINTMENTS, now=NOW + timedelta(minutes=5)).restricted


def test_settling_twice_keeps_the_first_settlement(session: Session):
    push_record(session, fine(), source="fines", now=NOW)
    first = settle_record(session, source="fines", reference="17", settled_by="fines", lag=timedelta(hours=1), now=NOW)
    again = settle_record(
        session, source="fines", reference="17", settled_by="fines", lag=timedelta(0), now=NOW + timedelta(minutes=10)
    )
    assert (again.settled_at, again.effective_at) == (first.settled_at, first.effective_at)
    assert restrictions(session, CITIZEN, APPOINTMENTS, now=NOW + timedelta(minutes=10)).restricted


def test_only_the_source_settles_and_an_unknown_record_is_not_found(session: Session):
    push_record(session, fine(kind=RecordKind.UNPAID_COURT_JUDGMENT), source="courts", now=NOW)
    with pytest.raises(NotTheSource) as refused:
        settle_record(session, source="courts", reference="17", settled_by="fines", lag=timedelta(0), now=NOW)
    assert refused.value.status == 403
    with pytest.raises(RecordNotFound) as missing:
        settle_record(session, source="fines", reference="17", settled_by="fines", lag=timedelta(0), now=NOW)
    assert missing.value.status == 404
    assert restrictions(session, CITIZEN, RestrictedService.RAIL_TRAVEL, now=NOW).restricted


# --- the blacklist query ---------------------------------------------------------------------------


def test_restrictions_follow_the_rules_table(session: Session):
    push_record(session, fine(), source="fines", now=NOW)
    answers = {service: restrictions(session, CITIZEN, service, now=NOW).restricted for service in RestrictedService}
    assert answers == {service: RecordKind.OVERDUE_FINE in rules_for(service) for service in RestrictedService}


def test_every_active_record_is_a_reason_oldest_first(session: Session):
    push_record(
        session,
        fine("judgment-9", kind=RecordKind.UNPAID_COURT_JUDGMENT),
        source="courts",
        now=NOW + timedelta(hours=1),
    )
    push_record(session, fine("17"), source="fines", now=NOW)
    push_record(session, fine("18"), source="fines", now=NOW + timedelta(hours=2))
    settle_record(
        session, source="fines", reference="18", settled_by="fines", lag=timedelta(0), now=NOW + timedelta(hours=3)
    )
    answer = restrictions(session, CITIZEN, RestrictedService.AIR_TRAVEL, now=NOW + timedelta(hours=4))
    assert [(r.source, r.reference) for r in answer.reasons] == [("fines", "17"), ("courts", "judgment-9")]
    assert all(r.settled_at is None for r in answer.reasons)


def test_an_unknown_citizen_is_not_restricted_but_a_malformed_id_is_refused(session: Session):
    answer = restrictions(session, CITIZEN, APPOINTMENTS, now=NOW)
    assert (answer.subject, answer.restricted, answer.reasons) == (CITIZEN, False, [])
    with pytest.raises(InvalidSubject):
        restrictions(session, "12345", APPOINTMENTS, now=NOW)


def test_a_naive_now_is_a_programming_error(session: Session):
    with pytest.raises(ValueError, match="aware"):
        push_record(session, fine(), source="fines", now=NOW.replace(tzinfo=None))
