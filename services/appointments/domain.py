"""The civil affairs bureau's operations, without HTTP: what the routes call.

Each concern has its module; this one names the operations and runs the two that straddle the
regime's admission policy (booking, and a partner's confirmation), so both doors — the service
routes (routes.py) and the citizen's own (me_routes.py) — run the same steps:

- ``slots``          the offices and their free slots;
- ``bookings``       planning and making a booking, reading bookings back;
- ``confirmations``  the partner's confirmation (a marriage's with the invitation code);
- ``changes``        cancelling and rescheduling;
- ``places``         taking and freeing a slot's places, and lapsing (the only writer of ``Slot.booked``);
- ``register``       the marriage register; ``invitation_codes``, ``office_time`` their helpers.

Every function takes ``now`` (the service's clock at the request, ``kernel.dependencies.NowDep``),
so lapsing can be shown and tested without waiting, and ends its own transactions (commit or
rollback), so no database connection is held while a route awaits another service between two of
them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from anyio import to_thread
from sqlmodel import Session

from services.appointments.bookings import book, bookings_of, get_booking, party_booking, plan_booking
from services.appointments.changes import cancel, reschedule
from services.appointments.confirmations import confirm, plan_confirmation
from services.appointments.models import BookingCreate, BookingCreated, BookingPublic, ConfirmationCreate
from services.appointments.places import lapse_overdue
from services.appointments.policy import AppointmentsPolicy, Party, ServiceRequests
from services.appointments.register import register_marriage
from services.appointments.slots import free_slots, get_slot, list_offices

__all__ = [
    "book",
    "bookings_of",
    "cancel",
    "confirm",
    "confirm_booking",
    "create_booking",
    "free_slots",
    "get_booking",
    "get_slot",
    "lapse_overdue",
    "list_offices",
    "party_booking",
    "plan_booking",
    "plan_confirmation",
    "register_marriage",
    "reschedule",
]


async def create_booking(
    session: Session,
    body: BookingCreate,
    *,
    policy: AppointmentsPolicy,
    services: ServiceRequests,
    window: timedelta,
    now: datetime,
) -> BookingCreated:
    """Book a place: the bureau's own checks, then the regime's admission policy, then the write."""
    # 1. everything the bureau can check itself (404, 409, 422) — before anyone else is asked
    plan = await to_thread.run_sync(partial(plan_booking, session, body, window=window, now=now))
    # 2. the regime's admission policy (platform: the credit-sharing platform, for both partners if known)
    parties = [Party("booker", plan.subject)] + ([Party("partner", plan.partner)] if plan.partner else [])
    await policy.admit(services, parties)
    # 3. take the place and write the booking, in one transaction
    return await to_thread.run_sync(partial(book, session, plan, now=now))


async def confirm_booking(
    session: Session,
    booking_id: str,
    body: ConfirmationCreate,
    *,
    policy: AppointmentsPolicy,
    services: ServiceRequests,
    now: datetime,
) -> BookingPublic:
    """A partner confirms: checked against the booking, then (a partner joining) the admission policy."""
    plan = await to_thread.run_sync(partial(plan_confirmation, session, booking_id, body, now=now))
    if plan is not None and plan.joins:
        # a marriage partner becomes known only now, so the policy sees them only now
        await policy.admit(services, [Party("partner", plan.subject)])
    return await to_thread.run_sync(partial(confirm, session, plan, booking_id, now=now))
