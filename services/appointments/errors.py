"""Every problem the civil affairs bureau answers with, one class per kind.

The kind strings and statuses are part of the API (the super-app's journeys and the tests react to
them): change neither. The token checks' kinds (``unauthenticated``, ``invalid-token``,
``forbidden-caller``, ``not-a-citizen``) are the kernel's; a 422 the credit platform answers about a
subject (``invalid-subject``) is passed on as it came (``kernel.client.raise_for_upstream_problem``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kernel.problems import Problem
from services.appointments.models import AppointmentType, Booking, BookingStatus, Slot

CREDIT_SERVICE = "credit"  # the platform the platform regime's admission policy asks


# --- what does not exist ------------------------------------------------------------------------------


class OfficeNotFound(Problem):
    status, kind = 404, "office-not-found"

    def __init__(self, office_id: str) -> None:
        super().__init__(f"No office {office_id!r}.")


class SlotNotFound(Problem):
    status, kind = 404, "slot-not-found"

    def __init__(self, slot_id: int) -> None:
        super().__init__(f"No slot {slot_id}.")


class BookingNotFound(Problem):
    """An unknown booking, or (to a citizen) one they take no part in."""

    status, kind = 404, "booking-not-found"

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"No booking {booking_id!r}.")


# --- places and slots ---------------------------------------------------------------------------------


class SlotFull(Problem):
    status, kind = 409, "slot-full"

    def __init__(self, slot_id: int) -> None:
        super().__init__(f"Slot {slot_id} has no free place left.", slot_id=slot_id)


class SlotInPast(Problem):
    status, kind = 409, "slot-in-past"

    def __init__(self, slot_id: int) -> None:
        super().__init__(f"Slot {slot_id} has already begun.", slot_id=slot_id)


class WrongAppointmentType(Problem):
    status, kind = 422, "wrong-appointment-type"

    def __init__(self, slot: Slot, asked: AppointmentType) -> None:
        super().__init__(f"Slot {slot.id} is for {slot.type!s} appointments, not {asked!s}.", slot_type=str(slot.type))


# --- the register ---------------------------------------------------------------------------------


class NotMarried(Problem):
    status, kind = 409, "not-married"

    def __init__(self) -> None:
        super().__init__("The marriage register holds no current marriage of the booking citizen.")


class AlreadyMarried(Problem):
    status, kind = 409, "already-married"

    def __init__(self, who: str) -> None:
        super().__init__(f"The marriage register shows the {who} as married.")


class MarriageRecordedOtherwise(Problem):
    """The register desk records a couple whose marriage is on record with another date: the record stands."""

    status, kind = 409, "marriage-recorded-otherwise"

    def __init__(self, registered_on: date) -> None:
        super().__init__(
            f"This couple's marriage is on record as registered on {registered_on.isoformat()}; nothing was changed.",
            registered_on=registered_on.isoformat(),
        )


# --- bookings -------------------------------------------------------------------------------------


class AlreadyBooked(Problem):
    status, kind = 409, "already-booked"

    def __init__(self, appointment_type: AppointmentType) -> None:
        super().__init__(
            f"There is already an open {appointment_type!s} booking for this citizen"
            f"{' or this marriage' if appointment_type is AppointmentType.DIVORCE else ''}."
        )


class BookingClosed(Problem):
    """A booking no longer open; its kind names how it closed (``booking_closed`` picks the class)."""

    status = 409

    def __init__(self, booking_id: str, status: BookingStatus) -> None:
        super().__init__(f"Booking {booking_id} has {status}.", booking_status=status)


class BookingLapsed(BookingClosed):
    kind = "booking-lapsed"


class BookingCancelled(BookingClosed):
    kind = "booking-cancelled"


_CLOSED: dict[BookingStatus, type[BookingClosed]] = {
    BookingStatus.LAPSED: BookingLapsed,
    BookingStatus.CANCELLED: BookingCancelled,
}


def booking_closed(booking: Booking) -> BookingClosed:
    """The problem for acting on ``booking``, which has closed (lapsed or been cancelled)."""
    status = BookingStatus(booking.status)
    if status not in _CLOSED:
        raise ValueError(f"booking {booking.id} is {status}, not closed")
    return _CLOSED[status](booking.id, status)


class BookingChanged(Problem):
    status, kind = 409, "booking-changed"

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"Booking {booking_id} changed meanwhile; read it again and retry.")


class NotAParty(Problem):
    status, kind = 403, "not-a-party"

    def __init__(self) -> None:
        super().__init__("Only the booker or the partner may change this booking.")


# --- confirmations --------------------------------------------------------------------------------


class NoConfirmationNeeded(Problem):
    status, kind = 409, "no-confirmation-needed"

    def __init__(self, booking: Booking) -> None:
        super().__init__(f"A {booking.type} booking has one citizen; there is nothing to confirm.")


class NotThePartner(Problem):
    status, kind = 403, "not-the-partner"

    def __init__(self) -> None:
        super().__init__("Only the partner named by this booking may confirm it.")


class InvalidInvitationCode(Problem):
    status, kind = 403, "invalid-invitation-code"

    def __init__(self) -> None:
        super().__init__("The invitation code is wrong or no longer valid.")


# --- admission (the platform regime's credit check, services/appointments/policy.py) ---------------


class CitizenRestricted(Problem):
    """The credit-sharing platform restricts a party (joint punishment), with its reasons."""

    status, kind, title = 403, "joint-punishment", "Joint punishment"

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        parties = sorted({reason["party"] for reason in reasons})
        measures = sorted({reason["measure"] for reason in reasons if reason.get("measure")})
        super().__init__(
            f"The credit-sharing platform restricts the {' and the '.join(parties)} (joint punishment)"
            + (f": {'; '.join(measures)}." if measures else "."),
            restricted_parties=parties,
            reasons=reasons,
        )


class CreditCheckUnavailable(Problem):
    """The platform cannot be asked, or answered nothing usable: nothing is booked unchecked."""

    status, kind = 503, "credit-check-unavailable"

    def __init__(self, why: str) -> None:
        super().__init__(
            f"The credit-sharing platform cannot be consulted ({why}); nothing was booked, "
            "since a booking is never made unchecked. Try again later.",
            upstream=CREDIT_SERVICE,
        )


# --- what a route lists in its OpenAPI ``responses`` (kernel.problems.problem_responses) ------------

# (the kinds any route answers, invalid-request, value-out-of-range and service-busy, problem_responses adds)
BOOKING_CLOSED: tuple[type[Problem], ...] = (BookingLapsed, BookingCancelled)
# What booking answers (both doors: routes.create_booking, me_routes.book), the admission policy's included.
BOOKING_PROBLEMS: tuple[type[Problem], ...] = (
    SlotNotFound,
    WrongAppointmentType,
    SlotInPast,
    SlotFull,
    NotMarried,
    AlreadyMarried,
    AlreadyBooked,
    CitizenRestricted,
    CreditCheckUnavailable,
)
# What a partner's confirmation answers, the admission policy's (a joining marriage partner) included.
CONFIRMATION_PROBLEMS: tuple[type[Problem], ...] = (
    BookingNotFound,
    NoConfirmationNeeded,
    *BOOKING_CLOSED,
    NotThePartner,
    InvalidInvitationCode,
    AlreadyMarried,
    CitizenRestricted,
    CreditCheckUnavailable,
)
