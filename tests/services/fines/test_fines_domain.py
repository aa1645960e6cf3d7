"""The fines domain without HTTP."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from services.fines.demo import CAR_OWNER, register_demo_car
from services.fines.domain import fines_for_vehicle
from services.fines.errors import VehicleNotFound
from services.fines.models import FinesTable, Vehicle
from tests.fixtures.databases import sqlite_session
from tests.fixtures.fines import DEMO_PLATE


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, FinesTable.metadata) as session:
        yield session


def test_a_vehicles_fines_come_oldest_first(session: Session):
    register_demo_car(session, "owner-subject")
    session.commit()
    assert [fine.amount_cents for fine in fines_for_vehicle(session, DEMO_PLATE)] == [20000, 15000]


def test_a_vehicle_without_fines_has_none_and_an_unknown_one_is_not_found(session: Session):
    session.add(Vehicle(plate="粤B00001", owner_ref=CAR_OWNER.resident_id))
    session.commit()
    assert fines_for_vehicle(session, "粤B00001") == []
    with pytest.raises(VehicleNotFound) as raised:
        fines_for_vehicle(session, "粤B99999")
    assert raised.value.status == 404


def test_seeding_twice_adds_nothing(session: Session):
    for _ in range(2):
        register_demo_car(session, "owner-subject")
        session.commit()
    assert len(fines_for_vehicle(session, DEMO_PLATE)) == 2
