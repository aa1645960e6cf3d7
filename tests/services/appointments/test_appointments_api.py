"""The civil affairs bureau over HTTP, in both regimes' meshes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlmodel import col, func, select

from kernel.personas import by_handle
from kernel.regime import Regime
from kernel.state import state_of
from services.appointments.demo import DEMO_OFFICE, ONE_PLACE_TYPE, one_place_start
from services.appointments.dependencies import AppointmentsState
from services.appointments.models import Booking, Slot
from tests.fixtures.appointments import (
    SCOPE,
    bearer,
    book,
    bureau_state,
    citizen,
    free_places,
    register_couple,
    slots,
    stored_bookings,
    tomorrow,
)
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.problems import assert_problem
from tests.fixtures.transports import record_paths

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("appointments", "fines")]

CONCURRENT_BOOKINGS = 100


@pytest.fixture
async def bureau(mesh: Mesh) -> AsyncIterator[httpx.AsyncClient]:
    """The bureau as the super-app gateway calls it."""
    async with mesh.client("appointments") as client:
        client.headers.update(bearer(mesh))
        yield client


# --- offices, slots, and who may call ---------------------------------------------------------------


async def test_offices_free_slots_and_who_may_call(mesh, bureau):
    offices = (await bureau.get("/offices")).json()
    assert [(o["id"], o["name"]) for o in offices] == [(DEMO_OFFICE.id, "广州市天河区婚姻登记处")]
    divorce = await slots(bureau, "divorce", office_id=DEMO_OFFICE.id)
    assert [(s["type"], s["capacity"], s["free"]) for s in divorce] == [("divorce", 2, 2)] * 4
    copies = await slots(bureau, ONE_PLACE_TYPE)
    assert copies[0]["capacity"] == 1 and datetime.fromisoformat(copies[0]["starts_at"]) == one_place_start(
        tomorrow() - timedelta(days=1)
    )
    assert len((await bureau.get("/slots")).json()) > 100  # every type, the next two weeks
    assert_problem(await bureau.get("/slots", params={"office_id": "nowhere"}), 404, "office-not-found")
    assert_problem(await bureau.get("/slots", params={"type": "funeral"}), 422, "invalid-request")
    assert_problem(await bureau.get("/slots", params={"date": "tomorrow"}), 422, "invalid-request")
    assert_problem(await bureau.get("/slots/999999"), 404, "slot-not-found")
    assert_problem(await bureau.get("/bookings/no-such-booking"), 404, "booking-not-found")

    # only the gateway may read and book
    slot = {"id": 1, "type": "marriage"}
    async with mesh.client("appointments") as anonymous:
        assert_problem(await anonymous.get("/offices"), 401, "unauthenticated")
        assert_problem(await anonymous.post("/bookings", json=slot | {"subject": "x"}), 401, "unauthenticated")
        reader = bearer(mesh, scope="appointments:read")
        assert_problem(
            await anonymous.post("/bookings", json=slot | {"subject": "x"}, headers=reader), 403, "forbidden-caller"
        )
        assert_problem(await anonymous.delete("/bookings/x", headers=reader), 403, "forbidden-caller")
        other_department = bearer(mesh, client="fines", scope=SCOPE)
        assert_problem(await anonymous.get("/offices", headers=other_department), 403, "forbidden-caller")


# --- booking ------------------------------------------------------------------------------------------


async def test_bookings_the_bureau_refuses(mesh, bureau):
    marriage, divorce = (await slots(bureau, "marriage"))[0], (await slots(bureau, "divorce"))[0]
    someone = citizen(mesh, 1)
    assert_problem(await book(bureau, {"id": 999999, "type": "marriage"}, someone), 404, "slot-not-found")
    assert_problem(
        await book(bureau, {"id": marriage["id"], "type": "divorce"}, someone), 422, "wrong-appointment-type"
    )
    assert_problem(
        await bureau.post("/bookings", json={"slot_id": marriage["id"], "type": "marriage"}), 422, "invalid-request"
    )
    assert_problem(await book(bureau, marriage, ""), 422, "invalid-request")
    assert_problem(await book(bureau, divorce, someone), 409, "not-married")
    assert (await book(bureau, marriage, someone)).status_code == 201
    assert_problem(await book(bureau, marriage, someone), 409, "already-booked")
    assert len(stored_bookings(mesh, subject=someone)) == 1
    assert await free_places(bureau, marriage["id"]) == marriage["free"] - 1


async def test_a_divorce_is_confirmed_by_the_spouse_the_register_names(mesh, bureau):
    wife, husband, stranger = citizen(mesh, 10), citizen(mesh, 11), citizen(mesh, 12)
    register_couple(mesh, husband, wife)
    slot = (await slots(bureau, "divorce"))[0]
    response = await book(bureau, slot, wife)  # she does not need to know his identifier
    assert response.status_code == 201, response.text
    booking = response.json()
    assert (booking["status"], booking["partner_confirmed"], booking["invitation_code"]) == ("pending", False, None)
    assert husband not in response.text and wife not in response.text  # neither party's subject is shown

    # the husband finds it among his bookings
    [seen] = (await bureau.get("/bookings", params={"subject": husband})).json()
    assert (seen["id"], seen["role"], seen["awaiting_your_confirmation"]) == (booking["id"], "partner", True)
    assert (await bureau.get("/bookings", params={"subject": stranger})).json() == []

    confirmations = f"/bookings/{booking['id']}/confirmations"
    assert_problem(await bureau.post(confirmations, json={"subject": stranger}), 403, "not-the-partner")
    assert_problem(
        await bureau.post("/bookings/no-such-booking/confirmations", json={"subject": husband}),
        404,
        "booking-not-found",
    )
    response = await bureau.post(confirmations, json={"subject": husband})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["partner_confirmed"]) == ("confirmed", True)
    assert (await bureau.get(f"/bookings/{booking['id']}")).json()["status"] == "confirmed"
    assert_problem(await book(bureau, slot, husband), 409, "already-booked")  # one open divorce per marriage


async def test_a_marriage_partner_confirms_with_the_invitation_code(mesh, bureau):
    bride, groom = citizen(mesh, 20), citizen(mesh, 21)
    slot = (await slots(bureau, "marriage"))[0]
    response = await book(bureau, slot, bride)
    assert response.status_code == 201, response.text
    booking = response.json()
    code = booking["invitation_code"]
    confirmations = f"/bookings/{booking['id']}/confirmations"
    assert_problem(
        await bureau.post(confirmations, json={"subject": groom, "invitation_code": "0000-0000-0000"}),
        403,
        "invalid-invitation-code",
    )
    response = await bureau.post(confirmations, json={"subject": groom, "invitation_code": code})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert "invitation_code" not in (await bureau.get(f"/bookings/{booking['id']}")).json()  # shown once only
    assert_problem(
        await bureau.post(confirmations, json={"subject": citizen(mesh, 22), "invitation_code": code}),
        403,
        "not-the-partner",
    )
    [stored] = stored_bookings(mesh, id=booking["id"])
    assert (stored.partner_subject, stored.invitation_code_hash) == (groom, None)


async def test_an_unconfirmed_booking_lapses_and_frees_its_place_without_a_scheduler(mesh, bureau):
    wife, husband = citizen(mesh, 30), citizen(mesh, 31)
    register_couple(mesh, husband, wife)
    slot = (await slots(bureau, "divorce"))[0]
    booking = (await book(bureau, slot, wife)).json()
    assert await free_places(bureau, slot["id"]) == 1
    window = bureau_state(mesh).settings.confirmation_window_minutes
    later = datetime.fromisoformat(booking["created_at"]) + timedelta(minutes=window)
    bureau_state(mesh).clock = lambda: later
    # the next read that touches the slot lapses the booking and frees the place
    assert await free_places(bureau, slot["id"]) == 2
    lapsed = (await bureau.get(f"/bookings/{booking['id']}")).json()
    assert (lapsed["status"], lapsed["closed_at"] is not None) == ("lapsed", True)
    assert_problem(
        await bureau.post(f"/bookings/{booking['id']}/confirmations", json={"subject": husband}), 409, "booking-lapsed"
    )
    assert_problem(await bureau.delete(f"/bookings/{booking['id']}"), 409, "booking-lapsed")


async def test_cancel_and_reschedule(mesh, bureau):
    someone, other = citizen(mesh, 40), citizen(mesh, 41)
    one_place, first, second = (await slots(bureau, "certificate-copy"))[:3]
    assert one_place["capacity"] == 1
    assert (await book(bureau, one_place, other)).status_code == 201
    booking = (await book(bureau, first, someone)).json()

    path = f"/bookings/{booking['id']}"
    assert_problem(await bureau.post(f"{path}/reschedule", json={"slot_id": one_place["id"]}), 409, "slot-full")
    assert (await bureau.get(path)).json()["slot_id"] == first["id"]  # nothing changed
    assert await free_places(bureau, first["id"]) == first["free"] - 1
    assert_problem(await bureau.post(f"{path}/reschedule", json={"slot_id": 999999}), 404, "slot-not-found")
    marriage = (await slots(bureau, "marriage"))[0]
    assert_problem(
        await bureau.post(f"{path}/reschedule", json={"slot_id": marriage["id"]}), 422, "wrong-appointment-type"
    )
    assert_problem(
        await bureau.post(f"{path}/reschedule", json={"slot_id": second["id"], "subject": other}), 403, "not-a-party"
    )
    assert_problem(
        await bureau.post("/bookings/no-such-booking/reschedule", json={"slot_id": second["id"]}),
        404,
        "booking-not-found",
    )

    moved = await bureau.post(f"{path}/reschedule", json={"slot_id": second["id"], "subject": someone})
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_id"] == second["id"]
    assert (await free_places(bureau, first["id"]), await free_places(bureau, second["id"])) == (
        first["free"],
        second["free"] - 1,
    )

    assert_problem(await bureau.delete(path, params={"subject": other}), 403, "not-a-party")
    cancelled = await bureau.delete(path, params={"subject": someone})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await bureau.delete(path)).json()["status"] == "cancelled"  # again: nothing changes
    assert await free_places(bureau, second["id"]) == second["free"]
    assert_problem(await bureau.post(f"{path}/reschedule", json={"slot_id": first["id"]}), 409, "booking-cancelled")
    assert_problem(await bureau.delete("/bookings/no-such-booking"), 404, "booking-not-found")


# --- never over-booked --------------------------------------------------------------------------------


async def test_concurrent_bookings_of_a_one_place_slot_book_exactly_one(mesh, bureau):
    [one_place] = [s for s in await slots(bureau, ONE_PLACE_TYPE) if s["capacity"] == 1]
    responses = await asyncio.gather(
        *(book(bureau, one_place, citizen(mesh, 100 + n)) for n in range(CONCURRENT_BOOKINGS))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (CONCURRENT_BOOKINGS - 1), statuses
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "slot-full")
    with bureau_state(mesh).database.session() as session:
        stored_slot = session.get(Slot, one_place["id"])
        assert stored_slot is not None and stored_slot.booked == 1
        assert (
            session.exec(select(func.count()).select_from(Booking).where(Booking.slot_id == one_place["id"])).one() == 1
        )
    assert_counts_match_bookings(mesh)


async def test_concurrent_moves_and_cancels_keep_every_count_exact(mesh, bureau):
    one_place, *others = await slots(bureau, ONE_PLACE_TYPE)
    bookings = [(await book(bureau, others[n % len(others)], citizen(mesh, 300 + n))).json() for n in range(12)]
    victim, movers = bookings[0], bookings[1:]
    # everyone races into the one free place while one booking is cancelled five times over
    responses = await asyncio.gather(
        *(bureau.post(f"/bookings/{b['id']}/reschedule", json={"slot_id": one_place["id"]}) for b in movers),
        *(bureau.delete(f"/bookings/{victim['id']}") for _ in range(5)),
    )
    moves, cancels = responses[: len(movers)], responses[len(movers) :]
    assert sorted(r.status_code for r in moves) == [200] + [409] * (len(movers) - 1)
    for response in moves:
        if response.status_code == 200:
            assert response.json()["slot_id"] == one_place["id"]
        else:
            assert_problem(response, 409, "slot-full")
    assert [(r.status_code, r.json()["status"]) for r in cancels] == [(200, "cancelled")] * 5
    assert_counts_match_bookings(mesh)


def assert_counts_match_bookings(mesh: Mesh) -> None:
    """Every slot's taken places are exactly its open bookings: nothing freed twice, nothing leaked."""
    with bureau_state(mesh).database.session() as session:
        open_per_slot: dict[int | None, int] = dict(
            session.exec(
                select(Booking.slot_id, func.count())
                .where(col(Booking.status).in_(["pending", "confirmed"]))
                .group_by(col(Booking.slot_id))
            ).all()
        )
        for slot in session.exec(select(Slot)).all():
            assert slot.booked == open_per_slot.get(slot.id, 0), slot


# --- the regimes: who decides whether Chen Jun may book -----------------------------------------------

# Chen Jun has an overdue fine, which the traffic police report to the credit platform (platform
# regime only): on the platform the bureau asks, and refuses the divorce; in the rights regime
# nobody asks, and the couple books.
EXPECTED = {Regime.PLATFORM: (403, True), Regime.RIGHTS: (201, False)}


async def test_the_demo_couples_divorce_in_each_regime(mesh, bureau, monkeypatch):
    await mesh.apps["fines"].state.service.worker.run_once()  # the overdue fine's report is delivered
    asked = record_paths(mesh, monkeypatch)
    services = state_of(mesh.apps["appointments"], AppointmentsState).services
    husband = await services.sector_subject(by_handle("chen-jun").resident_id)
    wife = await services.sector_subject(by_handle("zhang-min").resident_id)
    slot = (await slots(bureau, "divorce"))[0]
    asked.clear()

    response = await book(bureau, slot, wife)  # the register knows whom she is married to
    status, credit_consulted = EXPECTED[mesh.regime]
    assert response.status_code == status, response.text
    assert any(path.endswith("/restrictions") for path in asked) is credit_consulted
    if status == 403:
        body = assert_problem(response, 403, "joint-punishment")
        assert {reason["party"] for reason in body["reasons"]} == {"partner"}  # it is Chen Jun's fine
        assert stored_bookings(mesh) == []
    else:
        booking = response.json()
        confirmed = await bureau.post(f"/bookings/{booking['id']}/confirmations", json={"subject": husband})
        assert confirmed.json()["status"] == "confirmed"
        # the bureau keeps only the civil-registry pseudonyms, never a resident ID
        [stored] = stored_bookings(mesh)
        assert {stored.subject, stored.partner_subject} == {wife, husband}
        assert not {stored.subject, stored.partner_subject} & {
            by_handle(h).resident_id for h in ("chen-jun", "zhang-min")
        }
