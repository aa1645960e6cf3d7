"""Guessing limits at the provider: one-time codes work once; repeated failures lock for a while."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from identity.attempts import MAX_FAILED_ATTEMPTS
from identity.models import Citizen
from identity.personas import by_handle
from identity.totp import totp
from tests.oidc_rp import RelyingParty
from tests.test_oidc_flow import rights  # noqa: F401  (fixture)

PATIENT = by_handle("wang-fang")


async def step_up_page(mesh) -> tuple[RelyingParty, object]:
    rp = RelyingParty(mesh, "prescriptions")
    page = await rp.log_in(await rp.authorize(rp.request("openid")), PATIENT.handle)
    assert "Six-digit code" in page.text
    return rp, page


async def test_a_one_time_code_is_accepted_once(rights):  # noqa: F811
    code = totp(PATIENT.totp_secret, time.time())
    rp, page = await step_up_page(rights)
    assert "asks to receive" in (await rp.second_factor(page, code)).text
    other_browser, page = await step_up_page(rights)
    replayed = await other_browser.second_factor(page, code)
    assert replayed.status_code == 401 and "already used" in replayed.text


async def test_repeated_wrong_passwords_lock_the_account_for_a_while(rights):  # noqa: F811
    rp = RelyingParty(rights, "gateway")
    page = await rp.authorize(rp.request("openid"))
    for _ in range(MAX_FAILED_ATTEMPTS):
        page = await rp.log_in(page, PATIENT.handle, password="guess")
        assert "Wrong name or password" in page.text
    locked = await rp.log_in(page, PATIENT.handle)  # the right password, too late
    assert locked.status_code == 401 and "Too many failed attempts" in locked.text
    with rights.apps["identity"].state.database.session() as session:
        session.exec(update(Citizen).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    assert "asks to receive" in (await rp.log_in(locked, PATIENT.handle)).text
    with rights.apps["identity"].state.database.session() as session:
        patient = session.exec(select(Citizen).where(Citizen.handle == PATIENT.handle)).one()
    assert patient.failed_attempts == 0 and patient.locked_until is None
