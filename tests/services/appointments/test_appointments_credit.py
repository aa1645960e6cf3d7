"""Joint punishment: on the platform the bureau asks the credit-sharing platform before booking
anyone, refuses a restricted citizen with the platform's reasons, and never books unchecked; in the
rights regime the policy asks nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import httpx
import pytest

from kernel.client import ServiceClient, upstream_unavailable
from kernel.personas import by_handle
from kernel.problems import Problem, UpstreamError
from kernel.regime import Regime
from kernel.state import state_of
from services.appointments.policy import (
    JointPunishment,
    Party,
    PurposeLimitation,
    policy_for,
)
from services.credit.dependencies import CreditState
from services.credit.domain import push_record
from services.credit.models import CreditRecordCreate
from services.credit.rules import RecordKind
from tests.fixtures.appointments import bearer, book, citizen, free_places, register_couple, slots, stored_bookings
from tests.fixtures.matrix import BOTH_BACKENDS, PLATFORM_ONLY
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem

# The credit platform exists only in the platform regime; both backends.
pytestmark = [PLATFORM_ONLY, BOTH_BACKENDS, pytest.mark.started("appointments", "credit", "fines")]


@pytest.fixture
async def bureau(mesh: Mesh) -> AsyncIterator[httpx.AsyncClient]:
    # Chen Jun's overdue fine reaches the credit platform through the traffic police's outbox.
    await mesh.apps["fines"].state.service.worker.run_once()
    async with mesh.client("appointments") as client:
        client.headers.update(bearer(mesh))
        yield client


async def test_a_blacklisted_citizen_is_refused_with_the_platforms_reasons(mesh, bureau):
    chen_jun = by_handle("chen-jun").resident_id  # the platform's subject is the resident ID
    copies = (await slots(bureau, "certificate-copy"))[1]
    body = assert_problem(await book(bureau, copies, chen_jun), 403, "joint-punishment")
    assert body["title"] == "Joint punishment" and body["restricted_parties"] == ["booker"]
    [reason] = body["reasons"]  # Chen Jun's overdue parking fine, reported by the traffic police
    assert (reason["party"], reason["kind"], reason["source"]) == ("booker", "overdue-fine", "fines")
    assert reason["recorded_at"] and "settled_at" in reason
    assert {reason["party"] for reason in body["reasons"]} == {"booker"}
    assert "no online booking" in body["detail"]
    assert stored_bookings(mesh) == [] and await free_places(bureau, copies["id"]) == copies["free"]
    # someone with a clean record books the same slot
    assert (await book(bureau, copies, by_handle("wang-fang").resident_id)).status_code == 201


async def test_a_divorce_is_refused_when_the_spouse_is_blacklisted(mesh, bureau):
    zhang_min = by_handle("zhang-min").resident_id
    body = assert_problem(await book(bureau, (await slots(bureau, "divorce"))[0], zhang_min), 403, "joint-punishment")
    assert body["restricted_parties"] == ["partner"]  # Chen Jun's fine, not hers
    assert {reason["party"] for reason in body["reasons"]} == {"partner"}


async def test_a_marriage_partner_is_checked_when_they_confirm(mesh, bureau):
    bride = citizen(mesh, 1)
    booking = (await book(bureau, (await slots(bureau, "marriage"))[0], bride)).json()
    confirmations = f"/bookings/{booking['id']}/confirmations"
    code = booking["invitation_code"]
    blacklisted = citizen(mesh, 3)
    with state_of(mesh.apps["credit"], CreditState).database.session() as session:
        push_record(
            session,
            CreditRecordCreate(
                subject=blacklisted, kind=RecordKind.UNPAID_COURT_JUDGMENT, reference="j-7", amount_cents=500000
            ),
            source="courts",
            now=datetime.now(UTC),
        )
    body = assert_problem(
        await bureau.post(confirmations, json={"subject": blacklisted, "invitation_code": code}),
        403,
        "joint-punishment",
    )
    assert body["restricted_parties"] == ["partner"] and body["reasons"][0]["kind"] == "unpaid-court-judgment"
    # refused, the booking still waits for its partner and the code is not spent
    assert (await bureau.get(f"/bookings/{booking['id']}")).json()["status"] == "pending"
    groom = citizen(mesh, 2)
    response = await bureau.post(confirmations, json={"subject": groom, "invitation_code": code})
    assert response.status_code == 200 and response.json()["status"] == "confirmed"


async def test_nothing_is_booked_unchecked_while_the_credit_platform_is_down(mesh, bureau):
    wife, husband = citizen(mesh, 10), citizen(mesh, 11)
    register_couple(mesh, husband, wife)
    copies, divorce = (await slots(bureau, "certificate-copy"))[1], (await slots(bureau, "divorce"))[0]
    mesh.stop("credit")
    body = assert_problem(await book(bureau, copies, citizen(mesh, 12)), 503, "credit-check-unavailable")
    assert body["upstream"] == "credit" and "never made unchecked" in body["detail"]
    assert_problem(await book(bureau, divorce, wife), 503, "credit-check-unavailable")
    assert stored_bookings(mesh) == []
    assert (await free_places(bureau, copies["id"]), await free_places(bureau, divorce["id"])) == (
        copies["free"],
        divorce["free"],
    )


async def test_a_subject_that_is_no_resident_id_is_refused_on_the_platform(mesh, bureau):
    response = await book(bureau, (await slots(bureau, "certificate-copy"))[1], "not-a-resident-id")
    assert_problem(response, 422, "invalid-subject")


# --- the policy objects, with a stand-in for the kernel's service client ------------------------------


class FakeServices:
    """Answers calls to the credit platform as told, and records them."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    async def request(self, callee: str, method: str, path: str, **kwargs) -> httpx.Response:
        self.calls.append((callee, path))
        if isinstance(self.answer, Exception):
            raise self.answer
        status, body = self.answer
        return httpx.Response(status, json=body, request=httpx.Request(method, "http://credit" + path))


def test_each_regime_has_its_policy():
    assert isinstance(policy_for(Regime.PLATFORM), JointPunishment)
    assert isinstance(policy_for(Regime.RIGHTS), PurposeLimitation)


async def test_purpose_limitation_asks_nobody():
    services = FakeServices((200, {"restricted": True, "reasons": [{"kind": "overdue-fine"}]}))
    await PurposeLimitation().admit(
        cast(ServiceClient, services), [Party("booker", "anyone"), Party("partner", "anyone-else")]
    )
    assert services.calls == []


async def test_joint_punishment_asks_about_every_party():
    services = FakeServices((200, {"subject": "s", "service": "appointments", "restricted": False, "reasons": []}))
    await JointPunishment().admit(cast(ServiceClient, services), [Party("booker", "a/b"), Party("partner", "c")])
    assert services.calls == [("credit", "/subjects/a%2Fb/restrictions"), ("credit", "/subjects/c/restrictions")]


@pytest.mark.parametrize(
    "answer",
    [
        upstream_unavailable("credit", httpx.ConnectError("refused")),
        upstream_unavailable("credit", httpx.ReadTimeout("slow")),  # 504 from the kernel: still "cannot check"
        UpstreamError("no token for credit"),  # any other problem of the client: still "cannot check"
        (500, {"title": "Internal Server Error"}),
        (403, {"title": "Forbidden"}),
        (200, {"restricted": "maybe"}),
        (200, ["not", "an", "object"]),
    ],
)
async def test_joint_punishment_never_admits_unchecked(answer):
    with pytest.raises(Problem) as refused:
        await JointPunishment().admit(
            cast(ServiceClient, FakeServices(answer)), [Party("booker", "440104199008232150")]
        )
    assert (refused.value.status, refused.value.type) == (503, "urn:citygate:problem:credit-check-unavailable")


async def test_a_restriction_without_reasons_still_restricts():
    services = FakeServices((200, {"restricted": True, "reasons": []}))
    with pytest.raises(Problem) as refused:
        await JointPunishment().admit(cast(ServiceClient, services), [Party("booker", "440104199008232150")])
    assert refused.value.status == 403 and refused.value.extensions["reasons"] == [{"party": "booker"}]
