"""A login hint that names someone else than the browser's session asks who is there to log in: on a
shared phone (the workshop's stage switches persona in one browser) the previous person's session
never answers for the next one."""

from __future__ import annotations

import pytest

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from tests.fixtures.mesh import Mesh
from workshop.citizen_app import AppAuthorization, sign_in

HER, HIM = by_handle("zhang-min"), by_handle("chen-jun")


@pytest.fixture
async def identity(tmp_path):
    async with Mesh(Regime.RIGHTS, tmp_path) as mesh, mesh.client("identity") as client:
        await sign_in(client, AppAuthorization.for_service("appointments"), username=HER.handle, password=DEMO_PASSWORD)
        yield client  # her login session in its cookie jar


@pytest.mark.parametrize("hint", [HIM.handle, HIM.phone, HIM.resident_id, "nobody-at-all"])
async def test_a_hint_naming_someone_else_asks_for_a_login(identity, hint):
    auth = AppAuthorization.for_service("appointments", login_hint=hint)
    page = await identity.get(f"/authorize?{auth.query}")
    assert page.status_code == 200
    assert "name=password" in page.text  # not her consent page: whoever holds the phone logs in
    assert "Allow" not in page.text


@pytest.mark.parametrize("hint", [HER.handle, HER.phone, HER.resident_id, None])
async def test_a_hint_naming_the_sessions_citizen_or_none_keeps_the_session(identity, hint):
    auth = AppAuthorization.for_service("appointments", login_hint=hint)
    page = await identity.get(f"/authorize?{auth.query}")
    assert page.status_code == 200
    assert "name=password" not in page.text and "Allow" in page.text


async def test_the_next_person_logs_in_and_gets_their_own_code(identity):
    auth = AppAuthorization.for_service("appointments", login_hint=HIM.handle)
    assert await sign_in(identity, auth, username=HIM.handle, password=DEMO_PASSWORD)
    again = AppAuthorization.for_service("appointments", login_hint=HIM.handle)
    page = await identity.get(f"/authorize?{again.query}")
    assert "name=password" not in page.text  # his session now
