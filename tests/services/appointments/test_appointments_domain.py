"""The civil affairs bureau's rules without HTTP: slots, places, the register, confirmations, lapsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import inspect, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from kernel.problems import Problem
from services.appointments import domain
from services.appointments.demo import DAYS, DEMO_OFFICE, ONE_PLACE_TYPE, TIMETABLE, one_place_start, seed_office
from services.appointments.invitation_codes import MAX_CODE_ATTEMPTS, code_digest
from services.appointments.models import (
    AppointmentsTable,
    AppointmentType,
    Booking,
    BookingCreate,
    BookingStatus,
    ConfirmationCreate,
    Slot,
    as_utc,
)
from services.appointments.office_time import CHINA_STANDARD_TIME, utc
from tests.fixtures.databases import sqlite_session

TODAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 7, 0, 0, tzinfo=CHINA_STANDARD_TIME)  # midnight at the office: the whole day ahead
WINDOW = timedelta(minutes=30)
MARRIAGE, DIVORCE, COPY = AppointmentType.MARRIAGE, AppointmentType.DIVORCE, AppointmentType.CERTIFICATE_COPY


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, AppointmentsTable.metadata) as session:
        seed_office(session, TODAY)
        domain.register_marriage(session, "husband", "wife", date(2016, 5, 20))
        session.commit()
        yield session


def slot_of(session, kind: AppointmentType, *, index: int = 0, capacity: int | None = None) -> int:
    slots = [
        s
        for s in domain.free_slots(session, now=NOW, appointment_type=kind)
        if capacity is None or s.capacity == capacity
    ]
    return slots[index].id


def book(session, kind: AppointmentType, subject: str, slot_id: int | None = None, now: datetime = NOW):
    slot_id = slot_of(session, kind) if slot_id is None else slot_id
    body = BookingCreate(slot_id=slot_id, type=kind, subject=subject)
    return domain.book(session, domain.plan_booking(session, body, window=WINDOW, now=now), now=now)


def confirm(session, booking_id: str, subject: str, code: str | None = None, now: datetime = NOW):
    body = ConfirmationCreate(subject=subject, invitation_code=code)
    return domain.confirm(session, domain.plan_confirmation(session, booking_id, body, now=now), booking_id, now=now)


def free(session, slot_id: int, now: datetime = NOW) -> int:
    return domain.get_slot(session, slot_id, now=now).free


@contextmanager
def raises(kind: str, status: int) -> Iterator:
    """pytest.raises for a Problem of this kind and status."""
    with pytest.raises(Problem) as info:
        yield info
    assert (info.value.type, info.value.status) == (f"urn:citygate:problem:{kind}", status), info.value


# --- the demo office --------------------------------------------------------------------------------


def test_the_demo_seed_is_idempotent_and_covers_fourteen_days(session):
    seed_office(session, TODAY)
    session.commit()
    slots = session.exec(select(Slot)).all()
    per_day = sum(len(times) for _, times, _ in TIMETABLE)
    assert len(slots) == DAYS * per_day + 1
    one_place = [s for s in slots if s.capacity == 1]
    assert [(s.type, as_utc(s.starts_at)) for s in one_place] == [(ONE_PLACE_TYPE, one_place_start(TODAY))]
    # a start days later adds only the days that came into range
    seed_office(session, TODAY + timedelta(days=2))
    session.commit()
    assert len(session.exec(select(Slot)).all()) == (DAYS + 2) * per_day + 2


def test_free_slots_filter_by_office_type_and_local_date(session):
    tomorrow = domain.free_slots(
        session, now=NOW, office_id=DEMO_OFFICE.id, appointment_type=DIVORCE, on=TODAY + timedelta(days=1)
    )
    assert len(tomorrow) == 4 and all(s.type == DIVORCE and s.free == s.capacity == 2 for s in tomorrow)
    local_times = [s.starts_at.astimezone(CHINA_STANDARD_TIME).strftime("%H:%M") for s in tomorrow]
    assert local_times == ["09:30", "10:30", "14:30", "15:30"]
    # slots that have begun are not offered
    afternoon = NOW + timedelta(hours=12)
    assert all(s.starts_at > afternoon for s in domain.free_slots(session, now=afternoon, on=TODAY))
    with raises("office-not-found", 404):
        domain.free_slots(session, now=NOW, office_id="nowhere")


# --- taking places ----------------------------------------------------------------------------------


def test_a_slot_takes_exactly_its_capacity(session):
    slot_id = slot_of(session, DIVORCE)  # two places
    domain.register_marriage(session, "h2", "w2", date(2020, 1, 1))
    domain.register_marriage(session, "h3", "w3", date(2020, 1, 1))
    session.commit()
    assert book(session, DIVORCE, "husband", slot_id).status == BookingStatus.PENDING
    book(session, DIVORCE, "h2", slot_id)
    assert free(session, slot_id) == 0
    assert slot_id not in {s.id for s in domain.free_slots(session, now=NOW, appointment_type=DIVORCE)}
    with raises("slot-full", 409):
        book(session, DIVORCE, "h3", slot_id)
    # book() itself refuses too, even with a plan made while a place was free
    assert session.exec(select(Booking).where(Booking.subject == "h3")).all() == []


def test_book_decides_even_when_the_plan_saw_a_free_place(session):
    slot_id = slot_of(session, COPY, capacity=1)
    first = domain.plan_booking(session, BookingCreate(slot_id=slot_id, type=COPY, subject="a"), window=WINDOW, now=NOW)
    second = domain.plan_booking(
        session, BookingCreate(slot_id=slot_id, type=COPY, subject="b"), window=WINDOW, now=NOW
    )
    domain.book(session, first, now=NOW)
    with raises("slot-full", 409):
        domain.book(session, second, now=NOW)
    assert session.get(Slot, slot_id, populate_existing=True).booked == 1


def test_the_database_refuses_an_overbooked_slot(session):
    slot_id = slot_of(session, COPY, capacity=1)

    def overbook() -> None:
        session.exec(update(Slot).where(col(Slot.id) == slot_id).values(booked=2))
        session.commit()

    with pytest.raises(IntegrityError):  # the CHECK constraint, at the UPDATE or at the latest at its commit
        overbook()
    session.rollback()


def test_a_duplicate_open_booking_leaves_nothing_written(session):
    slot_id = slot_of(session, COPY)
    plan = domain.plan_booking(session, BookingCreate(slot_id=slot_id, type=COPY, subject="a"), window=WINDOW, now=NOW)
    domain.book(session, plan, now=NOW)
    with raises("already-booked", 409):  # found by the plan
        book(session, COPY, "a", slot_of(session, COPY, index=1))
    with raises("already-booked", 409):  # or by the partial unique index, and the place is given back
        domain.book(session, plan, now=NOW)
    assert free(session, slot_id) == 5


@pytest.mark.parametrize(
    ("kind", "subject", "slot", "problem", "status"),
    [
        (COPY, "a", 999_999, "slot-not-found", 404),
        (MARRIAGE, "a", COPY, "wrong-appointment-type", 422),
        (DIVORCE, "bachelor", DIVORCE, "not-married", 409),
        (MARRIAGE, "wife", MARRIAGE, "already-married", 409),
    ],
)
def test_bookings_the_bureau_refuses(session, kind, subject, slot, problem, status):
    slot_id = slot if isinstance(slot, int) else slot_of(session, slot)
    with raises(problem, status):
        book(session, kind, subject, slot_id)


def test_a_slot_that_has_begun_cannot_be_booked(session):
    slot_id = slot_of(session, COPY)
    with raises("slot-in-past", 409):
        book(session, COPY, "a", slot_id, now=NOW + timedelta(days=1))


# --- divorce: the spouse comes from the register ------------------------------------------------------


def test_a_divorce_names_the_spouse_from_the_register_and_only_they_confirm(session):
    booking = book(session, DIVORCE, "wife")
    assert (booking.status, booking.partner_confirmed, booking.invitation_code) == ("pending", False, None)
    assert booking.confirm_by == utc(NOW + WINDOW)
    [seen] = domain.bookings_of(session, "husband", now=NOW)
    assert (seen.id, seen.role, seen.awaiting_your_confirmation) == (booking.id, "partner", True)
    with raises("not-the-partner", 403):
        confirm(session, booking.id, "stranger")
    assert confirm(session, booking.id, "wife").status == "pending"  # the booker confirmed by booking
    confirmed = confirm(session, booking.id, "husband", now=NOW + timedelta(minutes=29))
    assert (confirmed.status, confirmed.partner_confirmed) == ("confirmed", True)
    assert confirm(session, booking.id, "husband").status == "confirmed"  # again: nothing changes
    [seen] = domain.bookings_of(session, "husband", now=NOW)
    assert not seen.awaiting_your_confirmation
    # one open divorce per marriage: the other spouse cannot book a second one
    with raises("already-booked", 409):
        book(session, DIVORCE, "husband")


def test_an_unconfirmed_divorce_lapses_after_the_window_and_frees_its_place(session):
    slot_id = slot_of(session, DIVORCE)
    booking = book(session, DIVORCE, "wife", slot_id)
    assert free(session, slot_id) == 1
    later = NOW + WINDOW
    with raises("booking-lapsed", 409):
        confirm(session, booking.id, "husband", now=later)
    stored = domain.get_booking(session, booking.id, now=later)
    assert (stored.status, stored.closed_at) == ("lapsed", utc(later))
    assert free(session, slot_id, now=later) == 2
    # the marriage is free for a new booking
    assert book(session, DIVORCE, "husband", slot_id, now=later).status == "pending"


def test_the_sweep_lapses_everything_overdue_once(session):
    slot_id = slot_of(session, DIVORCE)
    book(session, DIVORCE, "wife", slot_id)
    marriage_booking = book(session, MARRIAGE, "bride")
    assert domain.lapse_overdue(session, NOW + timedelta(minutes=10)) == 0
    assert domain.lapse_overdue(session, NOW + WINDOW) == 2
    assert domain.lapse_overdue(session, NOW + WINDOW) == 0  # nothing freed twice
    assert session.get(Slot, slot_id, populate_existing=True).booked == 0
    assert domain.get_booking(session, marriage_booking.id, now=NOW).status == "lapsed"


def test_the_window_never_outlasts_the_slot(session):
    first_divorce = domain.free_slots(session, now=NOW, appointment_type=DIVORCE)[0]
    just_before = first_divorce.starts_at - timedelta(minutes=5)
    booking = book(session, DIVORCE, "wife", first_divorce.id, now=just_before)
    assert booking.confirm_by == first_divorce.starts_at


# --- marriage: a one-time invitation code -------------------------------------------------------------


def test_a_marriage_partner_joins_with_the_one_time_code(session):
    booking = book(session, MARRIAGE, "bride")
    code = booking.invitation_code
    assert code and len(code) == 14 and code.count("-") == 2
    stored = session.get(Booking, booking.id)
    assert stored.partner_subject is None and stored.invitation_code_hash == code_digest(code)
    assert code not in {str(getattr(stored, column.key)) for column in inspect(Booking).columns}  # only its digest
    with raises("invalid-invitation-code", 403):
        confirm(session, booking.id, "groom", "0000-0000-0000")
    with raises("invalid-invitation-code", 403):
        confirm(session, booking.id, "groom", None)
    with raises("already-married", 409):  # a married citizen cannot be the partner
        confirm(session, booking.id, "husband", code)
    confirmed = confirm(session, booking.id, "groom", code.lower().replace("-", " "))
    assert (confirmed.status, confirmed.partner_confirmed) == ("confirmed", True)
    [seen] = domain.bookings_of(session, "groom", now=NOW)
    assert seen.role == "partner"
    assert confirm(session, booking.id, "groom", None).status == "confirmed"  # again: nothing changes
    with raises("not-the-partner", 403):  # the code is spent: nobody else can join
        confirm(session, booking.id, "rival", code)


def test_repeated_wrong_codes_void_the_invitation(session):
    booking = book(session, MARRIAGE, "bride")
    for _ in range(MAX_CODE_ATTEMPTS):
        with raises("invalid-invitation-code", 403):
            confirm(session, booking.id, "guesser", "AAAA-BBBB-CCCC")
    with raises("invalid-invitation-code", 403):
        confirm(session, booking.id, "groom", booking.invitation_code)
    assert domain.lapse_overdue(session, NOW + WINDOW) == 1  # it lapses and frees its place


def test_a_one_person_booking_needs_no_confirmation(session):
    booking = book(session, COPY, "a")
    assert (booking.status, booking.confirm_by, booking.partner_confirmed) == ("confirmed", None, None)
    with raises("no-confirmation-needed", 409):
        confirm(session, booking.id, "a")
    with raises("booking-not-found", 404):
        confirm(session, "no-such-booking", "a")


# --- cancelling and rescheduling ----------------------------------------------------------------------


def test_cancelling_frees_the_place_once(session):
    slot_id = slot_of(session, COPY)
    booking = book(session, COPY, "a", slot_id)
    with raises("not-a-party", 403):
        domain.cancel(session, booking.id, subject="b", now=NOW)
    assert domain.cancel(session, booking.id, subject="a", now=NOW).status == "cancelled"
    assert domain.cancel(session, booking.id, now=NOW).status == "cancelled"  # again: nothing changes
    assert free(session, slot_id) == 6
    with raises("booking-cancelled", 409):
        domain.reschedule(session, booking.id, slot_id=slot_of(session, COPY, index=1), now=NOW)
    with raises("booking-not-found", 404):
        domain.cancel(session, "no-such-booking", now=NOW)


def test_a_lapsed_booking_cannot_be_cancelled(session):
    booking = book(session, DIVORCE, "wife")
    with raises("booking-lapsed", 409):
        domain.cancel(session, booking.id, now=NOW + WINDOW)


def test_the_partner_may_cancel_a_divorce(session):
    booking = book(session, DIVORCE, "wife")
    assert domain.cancel(session, booking.id, subject="husband", now=NOW).status == "cancelled"


def test_rescheduling_takes_the_new_place_and_frees_the_old(session):
    old, new = slot_of(session, COPY, index=0), slot_of(session, COPY, index=1)
    booking = book(session, COPY, "a", old)
    moved = domain.reschedule(session, booking.id, slot_id=new, subject="a", now=NOW)
    assert (moved.slot_id, moved.status) == (new, "confirmed")
    assert (free(session, old), free(session, new)) == (6, 5)
    assert domain.reschedule(session, booking.id, slot_id=new, now=NOW).slot_id == new  # same slot: no change


def test_rescheduling_to_a_full_slot_changes_nothing(session):
    full = slot_of(session, COPY, capacity=1)
    book(session, COPY, "other", full)
    old = slot_of(session, COPY, index=2)
    booking = book(session, COPY, "a", old)
    with raises("slot-full", 409):
        domain.reschedule(session, booking.id, slot_id=full, now=NOW)
    assert domain.get_booking(session, booking.id, now=NOW).slot_id == old
    assert (free(session, old), session.get(Slot, full, populate_existing=True).booked) == (5, 1)


def test_rescheduling_a_divorce_keeps_the_window(session):
    booking = book(session, DIVORCE, "wife")
    other = slot_of(session, DIVORCE, index=3)
    moved = domain.reschedule(session, booking.id, slot_id=other, subject="husband", now=NOW)
    assert (moved.slot_id, moved.status, moved.confirm_by) == (other, "pending", booking.confirm_by)


@pytest.mark.parametrize(
    ("target", "problem", "status"),
    [
        (999_999, "slot-not-found", 404),
        (MARRIAGE, "wrong-appointment-type", 422),
    ],
)
def test_rescheduling_the_bureau_refuses(session, target, problem, status):
    booking = book(session, COPY, "a")
    slot_id = target if isinstance(target, int) else slot_of(session, target)
    with raises(problem, status):
        domain.reschedule(session, booking.id, slot_id=slot_id, now=NOW)


def test_a_begun_appointment_can_be_neither_moved_nor_cancelled(session):
    first = domain.free_slots(session, now=NOW, appointment_type=COPY)[0]
    booking = book(session, COPY, "a", first.id)
    during = first.starts_at + timedelta(minutes=1)
    with raises("slot-in-past", 409):
        domain.cancel(session, booking.id, now=during)
    with raises("slot-in-past", 409):
        domain.reschedule(session, booking.id, slot_id=slot_of(session, COPY, index=3), now=during)
