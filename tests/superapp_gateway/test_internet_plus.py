"""Internet Plus: on the platform a department asks the super-app about a citizen and gets everything
it keeps (profile, history, payments), and the share lands in the citizen's history; in the rights
regime the super-app shares nothing."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime
from typing import cast

import pytest

from kernel.access import audience_of
from kernel.database import Database
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from services.fines.demo import CAR_OWNER
from superapp_gateway.errors import NotShared
from superapp_gateway.policy import RightsPolicy
from superapp_gateway.user_agreement import PLATFORM_VERSION
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.logins import super_app
from tests.fixtures.matrix import BOTH_BACKENDS
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import service_bearer
from tests.fixtures.wallet import pay

pytestmark = [BOTH_BACKENDS, pytest.mark.started("appointments")]

PATH = "/internet-plus/citizens/{}"


def as_service(mesh: Mesh, client: str, scope: str = "gateway:internet-plus") -> dict[str, str]:
    return service_bearer(mesh, scope, client=client, audience=audience_of("gateway"))


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_platform_a_department_gets_the_profile_history_and_payments_and_the_share_is_recorded(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        unpaid = [fine for fine in (await browser.get("/city-services/fines")).json() if fine["status"] == "unpaid"]
        assert (await pay(browser, unpaid[0], "fine-1")).status_code == 201

        # The civil registry asks, with its own service client (a real token from the identity service).
        asked = await state_of(mesh.apps["appointments"], ServiceState).services.request(
            "gateway", "GET", PATH.format(CAR_OWNER.resident_id)
        )
        assert asked.status_code == 200, asked.text
        shared = asked.json()
        assert (shared["resident_id"], shared["shared_with"]) == (CAR_OWNER.resident_id, "appointments")
        assert shared["profile"]["sub"] == CAR_OWNER.resident_id and shared["profile"]["name"] == CAR_OWNER.name
        assert shared["user_agreement"]["version"] == PLATFORM_VERSION  # "he agreed to all of this"
        assert shared["user_agreement"]["accepted_at"] is not None
        assert DEMO_PLATE in str(shared["history"])  # the fines he looked up, plate included
        assert [(p["payee"], p["reference"], p["amount_cents"], p["status"]) for p in shared["payments"]] == [
            ("fines", str(unpaid[0]["id"]), unpaid[0]["amount_cents"], "completed")
        ]

        history = (await browser.get("/me/history")).json()
        assert history[-1]["journey"] == "internet-plus" and history[-1]["event"] == "shared with appointments"


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_only_departments_with_the_permission_may_ask(mesh):
    async with aclosing(await super_app(mesh)) as browser:
        session_id = browser.cookies.get("citygate_gateway_platform")
        async with mesh.client("gateway") as gateway:
            path = PATH.format(CAR_OWNER.resident_id)
            assert_problem(await gateway.get(path), 401)
            assert_problem(await gateway.get(path, headers=as_service(mesh, "pod")), 403, "forbidden-caller")
            assert_problem(await gateway.get(path, headers=as_service(mesh, "consent")), 403, "forbidden-caller")
            # the citizen's own app, even with the scope in its token, is in no kernel.access entry
            assert_problem(await gateway.get(path, headers=as_service(mesh, "citizen-app")), 403, "forbidden-caller")
            assert_problem(await gateway.get(path, headers=as_service(mesh, "fines", scope="gateway:read")), 403)
            # a super-app session is no service token
            assert_problem(
                await gateway.get(path, headers={"Authorization": f"Bearer {session_id}"}), 401, "invalid-token"
            )
            assert_problem(
                await gateway.get(PATH.format("110101199003077777"), headers=as_service(mesh, "fines")),
                404,
                "citizen-not-found",
            )
            assert (await gateway.get(path, headers=as_service(mesh, "fines"))).status_code == 200


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_rights_the_super_app_shares_nothing(mesh):
    async with aclosing(await super_app(mesh)):
        async with mesh.client("gateway") as gateway:
            refused = await gateway.get(PATH.format(CAR_OWNER.resident_id), headers=as_service(mesh, "fines"))
    assert_problem(refused, 403, "not-shared")


def test_rights_sharing_refuses_without_reading_anything():
    """``ShareNothing`` answers before any database read: given no database at all, it still refuses."""
    policy = RightsPolicy()
    with pytest.raises(NotShared):
        policy.sharing.citizen_for(
            cast(Database, None), policy.history, CAR_OWNER.resident_id, "fines", datetime.now(UTC)
        )
