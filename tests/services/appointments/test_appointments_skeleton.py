"""The bureau's shape: its typed state carries the regime's policy, and every route lists, in its
OpenAPI ``responses``, the problem kinds it can answer (services/appointments/errors.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kernel.problems import Problem
from kernel.regime import Regime
from kernel.state import state_of
from services.appointments import errors
from services.appointments.app import create_app
from services.appointments.dependencies import AppointmentsState
from services.appointments.policy import JointPunishment, PurposeLimitation
from services.appointments.settings import Settings

Documented = dict[tuple[str, str], dict[str, set[str]]]

BOOKING = {
    "slot-not-found",
    "wrong-appointment-type",
    "slot-in-past",
    "slot-full",
    "not-married",
    "already-married",
    "already-booked",
    "joint-punishment",
    "credit-check-unavailable",
}
CONFIRMATION = {
    "booking-not-found",
    "no-confirmation-needed",
    "booking-lapsed",
    "booking-cancelled",
    "not-the-partner",
    "invalid-invitation-code",
    "already-married",
    "joint-punishment",
    "credit-check-unavailable",
}
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/offices"): set(),
    ("GET", "/slots"): {"office-not-found"},
    ("GET", "/slots/{slot_id}"): {"slot-not-found"},
    ("POST", "/bookings"): BOOKING,
    ("GET", "/bookings"): set(),
    ("GET", "/bookings/{booking_id}"): {"booking-not-found"},
    ("DELETE", "/bookings/{booking_id}"): {"booking-not-found", "not-a-party", "booking-lapsed", "slot-in-past"},
    ("POST", "/bookings/{booking_id}/reschedule"): {
        "booking-not-found",
        "not-a-party",
        "booking-lapsed",
        "booking-cancelled",
        "slot-not-found",
        "wrong-appointment-type",
        "slot-in-past",
        "slot-full",
        "booking-changed",
    },
    ("POST", "/bookings/{booking_id}/confirmations"): CONFIRMATION,
    ("GET", "/me/bookings"): set(),
    ("POST", "/me/bookings"): BOOKING,
    ("GET", "/me/bookings/{booking_id}"): {"booking-not-found"},
    ("POST", "/me/bookings/{booking_id}/confirmations"): CONFIRMATION,
    # the register desk (its own operators)
    ("POST", "/marriages"): {
        "already-married",
        "marriage-recorded-otherwise",
        "resident-not-enrolled",
        "operator-unauthenticated",
        "upstream-unavailable",
        "upstream-timeout",
        "upstream-error",
    },
}
# What every route answers besides its own (kernel.problems.PROBLEM_RESPONSES): a route that lists a
# kind under one of these statuses must keep them.
SHARED = {"422": {"invalid-request", "value-out-of-range"}, "503": {"service-busy"}}


def documented(spec: dict[str, Any]) -> Documented:
    """Each operation's problem kinds, by status, as its OpenAPI ``responses`` describe them."""
    return {
        (method.upper(), path): {
            status: set(re.findall(r"urn:citygate:problem:([a-z0-9-]+)", response.get("description", "")))
            for status, response in operation["responses"].items()
        }
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Documented:
    data_dir: Path = tmp_path_factory.mktemp("appointments")
    return documented(create_app(Settings(regime=Regime.PLATFORM, data_dir=data_dir)).openapi())


@pytest.mark.parametrize(("regime", "policy"), [(Regime.PLATFORM, JointPunishment), (Regime.RIGHTS, PurposeLimitation)])
def test_the_typed_state_carries_the_regimes_policy(tmp_path: Path, regime: Regime, policy: type) -> None:
    app = create_app(Settings(regime=regime, data_dir=tmp_path))
    assert isinstance(state_of(app, AppointmentsState).policy, policy)


def test_every_route_lists_its_problems(spec: Documented) -> None:
    own = {route: kinds for route, kinds in spec.items() if route in EXPECTED}
    assert set(own) == set(EXPECTED), "a route was added or removed: list its problems here"
    for route, expected in EXPECTED.items():
        listed = set().union(*spec[route].values())
        assert expected <= listed, (route, expected - listed)


def test_a_routes_own_entry_keeps_the_shared_kinds(spec: Documented) -> None:
    for route in EXPECTED:
        for status, shared in SHARED.items():
            assert shared <= spec[route].get(status, set()), (route, status)


def test_every_kind_of_the_catalogue_is_answered_by_some_route(spec: Documented) -> None:
    declared = {
        cls.kind
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, Problem) and cls.__module__ == errors.__name__ and cls.kind
    }
    listed = set().union(*(kinds for route in EXPECTED for kinds in spec[route].values()))
    assert declared <= listed, declared - listed
