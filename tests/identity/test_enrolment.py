"""Enrolment checks the resident ID first and writes nothing when it refuses."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from identity.enrolment import enrol_citizen
from identity.models import Citizen, IdentityTable
from identity.policy import PlatformPolicy
from kernel.personas import by_handle
from kernel.problems import Problem
from kernel.regime import Regime
from tests.fixtures.databases import sqlite_session
from tests.fixtures.mesh import Mesh
from tests.fixtures.oidc_rp import RelyingParty


@pytest.fixture
def session(tmp_path):
    with sqlite_session(tmp_path, IdentityTable.metadata) as session:
        yield session


def enrol(session, resident_id: str, handle: str = "new", phone: str = "+8613800000000"):
    return enrol_citizen(
        session,
        policy=PlatformPolicy(),
        handle=handle,
        resident_id=resident_id,
        name="测试 (Ce Shi)",
        phone=phone,
        address="1 Test Road, Guangzhou",
        password="pw",
        totp_secret=b"s" * 20,
        today=date(2026, 11, 23),
    )


def test_a_valid_resident_id_enrols_with_its_birth_date(session):
    citizen = enrol(session, "11010519491231002x")
    assert citizen.resident_id == "11010519491231002X" and citizen.birth_date == date(1949, 12, 31)
    assert citizen.id != citizen.resident_id


@pytest.mark.parametrize(
    ("resident_id", "reason"),
    [
        ("110105194912310021", "check character"),  # altered check character
        ("110105194902300027", "date"),  # 30 February
        ("110105203012310025", "future"),  # born in 2030
        ("99010519491231002X", "province"),
        ("1101051949123100", "18"),
    ],
)
def test_a_malformed_resident_id_is_a_422_and_nothing_is_written(session, resident_id, reason):
    with pytest.raises(Problem) as refused:
        enrol(session, resident_id)
    assert refused.value.status == 422 and reason in str(refused.value.detail)
    session.rollback()
    assert session.exec(select(Citizen)).all() == []


def test_the_same_person_cannot_enrol_twice(session):
    enrol(session, "11010519491231002X")
    with pytest.raises(Problem) as refused:
        enrol(session, "11010519491231002X", handle="other", phone="+8613900000000")
    assert refused.value.status == 409


async def test_a_mistyped_resident_id_at_login_is_named(tmp_path):
    async with Mesh(Regime.PLATFORM, tmp_path) as mesh:
        rp = RelyingParty(mesh, "gateway")
        mistyped = by_handle("li-wei").resident_id[:-1] + ("0" if by_handle("li-wei").resident_id[-1] != "0" else "1")
        page = await rp.log_in(await rp.authorize(rp.request("openid")), mistyped)
    assert page.status_code == 401 and "check character" in page.text
