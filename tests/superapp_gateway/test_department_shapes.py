"""The shapes the gateway declares for what it sends a department agree with the department's own
(the gateway imports no department's package; this test may)."""

from __future__ import annotations

from services.appointments.models import AppointmentType as BureauAppointmentType
from superapp_gateway.journeys.appointments import AppointmentType


def test_the_appointment_types_are_the_bureaus() -> None:
    assert {kind.value for kind in AppointmentType} == {kind.value for kind in BureauAppointmentType}
