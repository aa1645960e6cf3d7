"""The platform phone's journeys after fines (/app/appointments, /app/prescriptions, /app/id-card,
/app/my-data): what each page shows, from the departments through the gateway's own functions, and
how the pages hold up against forged forms, another citizen's ids in the address and double taps."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest
from sqlmodel import select

from kernel.personas import by_handle
from services.appointments.models import Booking
from services.prescriptions.models import Prescription
from tests.fixtures.matrix import PLATFORM_ONLY, SQLITE_ONLY
from tests.fixtures.phone_pages import CAR_OWNER, OWN_PAGE, form_for, journey_events, on_the_grid

pytestmark = [SQLITE_ONLY, PLATFORM_ONLY]

HUSBAND, WIFE, PATIENT = by_handle("chen-jun"), by_handle("zhang-min"), by_handle("wang-fang")


def a_browser(mesh) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=mesh.transport, follow_redirects=False)


async def reported_to_the_credit_platform(mesh) -> None:
    """The traffic police's outbox delivered (Chen Jun's overdue fine; later its settlement)."""
    await (await mesh.running("fines")).state.service.worker.run_once()


def bookings_of(mesh, subject: str) -> list[Booking]:
    with mesh.apps["appointments"].state.service.database.session() as session:
        return list(
            session.exec(
                select(Booking).where((Booking.subject == subject) | (Booking.partner_subject == subject))
            ).all()
        )


def prescriptions_of(mesh, subject: str) -> list[Prescription]:
    with mesh.apps["prescriptions"].state.service.database.session() as session:
        return list(session.exec(select(Prescription).where(Prescription.patient == subject)).all())


def prescription(mesh, prescription_id: str) -> Prescription:
    with mesh.apps["prescriptions"].state.service.database.session() as session:
        found = session.get(Prescription, prescription_id)
        assert found is not None
        return found


async def send(browser: httpx.AsyncClient, mesh, action: str, form: dict[str, str]) -> httpx.Response:
    return await browser.post(mesh.urls["gateway"] + action, data=form, headers=OWN_PAGE)


async def he_pays_his_fine(mesh, browser: httpx.AsyncClient) -> None:
    page = await browser.get(mesh.urls["gateway"] + "/app/fines")
    paid = await send(browser, mesh, *form_for(page.text, "/pay"))
    assert paid.status_code == 303, paid.text


# --- 婚姻登记 appointments ------------------------------------------------------------------------------


async def test_a_blacklisted_partner_refuses_the_divorce_with_the_platforms_reasons(mesh):
    await reported_to_the_credit_platform(mesh)
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, WIFE)
        page = await phone.get(mesh.urls["gateway"] + "/app/appointments")
        assert page.status_code == 200, page.text
        assert "离婚" in page.text and "No bookings" in page.text and 'id="book-' in page.text
        refused = await send(phone, mesh, *form_for(page.text, "/app/appointments/book"))
        assert refused.status_code == 200 and "text/html" in refused.headers["content-type"]
        for shown in (
            "联合惩戒",
            "Booking refused: joint punishment",
            "配偶",  # the partner is the one restricted
            "逾期未缴交通罚款",
            "Overdue traffic fine",
            "no online booking of civil-registry appointments",
            "交通管理部门",  # who reported it
            ">fines<",
        ):
            assert shown in refused.text, shown
        assert bookings_of(mesh, WIFE.resident_id) == []
        [kept] = [e for e in journey_events(mesh, WIFE.resident_id, "appointments") if e.event == "booking refused"]
        assert "overdue-fine" in kept.details  # the platform keeps why


async def test_he_pays_books_the_divorce_once_and_she_confirms_on_the_same_phone(mesh):
    gateway = mesh.urls["gateway"]
    await reported_to_the_credit_platform(mesh)
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, HUSBAND)
        page = await phone.get(gateway + "/app/appointments?type=divorce")
        action, form = form_for(page.text, "/app/appointments/book")
        refused = await send(phone, mesh, action, form)  # his own overdue fine: he is the booker
        assert "预约人" in refused.text and "Booking refused: joint punishment" in refused.text
        await he_pays_his_fine(mesh, phone)
        await reported_to_the_credit_platform(mesh)  # the settlement reaches the blacklist

        page = await phone.get(gateway + "/app/appointments?type=divorce")
        action, form = form_for(page.text, "/app/appointments/book")
        first = await send(phone, mesh, action, form)
        again = await send(phone, mesh, action, form)  # a double tap
        for sent in (first, again):
            assert sent.status_code == 200, sent.text
            assert "预约成功" in sent.text and "pending: waiting for the partner" in sent.text
        [booking] = bookings_of(mesh, HUSBAND.resident_id)
        assert (booking.type, booking.status, booking.partner_subject) == ("divorce", "pending", WIFE.resident_id)

        # the stage switches the phone to her: she logs in on the same phone
        switched = await phone.get(gateway + f"/app/?persona={WIFE.handle}")
        assert "Logged in as" in switched.text
        await on_the_grid(mesh, phone, WIFE)
        mine = await phone.get(gateway + "/app/appointments")
        assert "Awaiting your confirmation" in mine.text and f"/app/appointments/bookings/{booking.id}" in mine.text
        detail = await phone.get(gateway + f"/app/appointments/bookings/{booking.id}")
        action, form = form_for(detail.text, "/confirm")
        for _ in range(2):  # a double tap confirms once
            confirmed = await send(phone, mesh, action, form)
            assert confirmed.status_code == 303 and confirmed.headers["location"].endswith(booking.id)
        shown = await phone.get(gateway + confirmed.headers["location"])
        assert "已确认" in shown.text and 'id="confirm"' not in shown.text
        assert bookings_of(mesh, WIFE.resident_id)[0].status == "confirmed"
        confirmations = [e for e in journey_events(mesh, WIFE.resident_id, "appointments") if "confirmed" in e.event]
        assert len(confirmations) == 1


async def test_a_marriage_booking_shows_its_invitation_code_once(mesh):
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, CAR_OWNER)
        page = await phone.get(mesh.urls["gateway"] + "/app/appointments?type=marriage")
        action, form = form_for(page.text, "/app/appointments/book")
        assert form["type"] == "marriage"
        first, again = await send(phone, mesh, action, form), await send(phone, mesh, action, form)
        assert first.status_code == again.status_code == 200
        assert 'id="invitation-code"' in first.text and 'id="invitation-code"' not in again.text
        [booking] = bookings_of(mesh, CAR_OWNER.resident_id)
        assert booking.type == "marriage" and booking.id in again.text
        kept = journey_events(mesh, CAR_OWNER.resident_id, "appointments")
        assert not any("invitation_code" in event.details for event in kept)  # not kept, even here
        other = await phone.get(mesh.urls["gateway"] + "/app/appointments?type=certificate-copy")
        assert other.status_code == 422 and "text/html" in other.headers["content-type"]


async def a_pending_divorce(mesh) -> Booking:
    """Chen Jun (fine paid) has booked a divorce that waits for Zhang Min."""
    await reported_to_the_credit_platform(mesh)
    async with aclosing(a_browser(mesh)) as his:
        await on_the_grid(mesh, his, HUSBAND)
        await he_pays_his_fine(mesh, his)
        await reported_to_the_credit_platform(mesh)
        page = await his.get(mesh.urls["gateway"] + "/app/appointments")
        assert (await send(his, mesh, *form_for(page.text, "/app/appointments/book"))).status_code == 200
    [booking] = bookings_of(mesh, HUSBAND.resident_id)
    return booking


async def test_another_couples_booking_is_not_found_and_cannot_be_confirmed(mesh):
    booking = await a_pending_divorce(mesh)
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as stranger:
        await on_the_grid(mesh, stranger, CAR_OWNER)
        seen = await stranger.get(gateway + f"/app/appointments/bookings/{booking.id}")
        assert seen.status_code == 404 and "text/html" in seen.headers["content-type"]
        own = await stranger.get(gateway + "/app/appointments")
        _, form = form_for(own.text, "/app/appointments/book")  # his own page's token and a fresh key
        form = {"form_token": form["form_token"], "form_key": form["form_key"]}
        refused = await send(stranger, mesh, f"/app/appointments/bookings/{booking.id}/confirm", form)
        assert refused.status_code == 404
    assert bookings_of(mesh, HUSBAND.resident_id)[0].status == "pending"


@pytest.mark.parametrize(
    ("change", "headers"),
    [({"form_token": None}, OWN_PAGE), ({"form_token": "forged"}, OWN_PAGE), ({}, {"sec-fetch-site": "same-site"})],
    ids=["token-missing", "token-forged", "from-another-origin"],
)
async def test_a_forged_confirmation_or_booking_is_refused(mesh, change, headers):
    booking = await a_pending_divorce(mesh)
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, WIFE)
        detail = await phone.get(gateway + f"/app/appointments/bookings/{booking.id}")
        slots = await phone.get(gateway + "/app/appointments?type=marriage")
        for action, form in (form_for(detail.text, "/confirm"), form_for(slots.text, "/app/appointments/book")):
            for name, value in change.items():
                form.pop(name) if value is None else form.update({name: value})
            refused = await phone.post(gateway + action, data=form, headers=headers)
            assert refused.status_code == 403, action
    assert bookings_of(mesh, HUSBAND.resident_id)[0].status == "pending"
    assert [b.type for b in bookings_of(mesh, WIFE.resident_id)] == ["divorce"]


# --- 处方 prescriptions ---------------------------------------------------------------------------------


async def test_a_consultation_pay_dispense_and_deliver_each_once(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, PATIENT)
        page = await phone.get(gateway + "/app/prescriptions")
        assert "在线问诊" in page.text and "¥1,000.00" in page.text
        before = len(prescriptions_of(mesh, PATIENT.resident_id))
        action, form = form_for(page.text, "/consultations")
        first, again = await send(phone, mesh, action, form), await send(phone, mesh, action, form)
        assert first.status_code == again.status_code == 303 and first.headers["location"] == again.headers["location"]
        assert len(prescriptions_of(mesh, PATIENT.resident_id)) == before + 1  # one consultation, one prescription
        rx = prescription(mesh, first.headers["location"].rsplit("/", 1)[1])

        shown = await phone.get(gateway + first.headers["location"])
        amount = f"¥{rx.amount_cents // 100:,}.{rx.amount_cents % 100:02d}"
        assert amount in shown.text and PATIENT.resident_id in shown.text and "待支付" in shown.text
        for step, done in (("/pay", "已支付"), ("/dispensation", "已配药")):
            action, form = form_for(shown.text, step)
            for _ in range(2):  # a double tap: charged once, dispensed once
                sent = await send(phone, mesh, action, form)
                assert sent.status_code == 303, sent.text
            shown = await phone.get(gateway + sent.headers["location"])
            assert done in shown.text, step
        left = 100_000 - rx.amount_cents
        assert f"¥{left // 100:,}.{left % 100:02d}" in shown.text  # charged once
        assert "Liwan Dashenlin Pharmacy" in shown.text
        assert PATIENT.address in shown.text  # the delivery form comes filled in from her real-name record

        action, form = form_for(shown.text, "/delivery")
        form["address"] = PATIENT.address
        for _ in range(2):
            sent = await send(phone, mesh, action, form)
            assert sent.status_code == 303, sent.text
        delivered = await phone.get(gateway + sent.headers["location"])
        rx = prescription(mesh, rx.id)
        assert rx.parcel_id and rx.parcel_id in delivered.text and "配送中" in delivered.text
        kept = [e.event for e in journey_events(mesh, PATIENT.resident_id, "prescriptions")]
        assert kept.count("online consultation: prescription issued") == 1 and kept.count("delivery ordered") == 1
        assert kept.count("dispensed by a pharmacy") == 1


async def test_another_patients_prescription_is_not_found_and_cannot_be_paid(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as patient, aclosing(a_browser(mesh)) as stranger:
        await on_the_grid(mesh, patient, PATIENT)
        page = await patient.get(gateway + "/app/prescriptions")
        issued = await send(patient, mesh, *form_for(page.text, "/consultations"))
        rx = prescription(mesh, issued.headers["location"].rsplit("/", 1)[1])

        await on_the_grid(mesh, stranger, CAR_OWNER)
        assert (await stranger.get(gateway + issued.headers["location"])).status_code == 404
        own = await stranger.get(gateway + "/app/prescriptions")
        _, form = form_for(own.text, "/consultations")
        for step in ("/pay", "/dispensation"):
            refused = await send(stranger, mesh, f"/app/prescriptions/{rx.id}{step}", form)
            assert refused.status_code == 404, step
        wallet = await stranger.get(gateway + "/wallet", headers={"accept": "application/json"})
        assert wallet.json()["balance_cents"] == 100_000
    assert prescription(mesh, rx.id).status == "issued"


async def test_a_forged_consultation_issues_nothing(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, PATIENT)
        page = await phone.get(gateway + "/app/prescriptions")
        before = prescriptions_of(mesh, PATIENT.resident_id)
        action, form = form_for(page.text, "/consultations")
        refused = await send(phone, mesh, action, form | {"form_token": "forged"})
        assert refused.status_code == 403
        keyless = await send(phone, mesh, action, {"form_token": form["form_token"]})
        assert keyless.status_code == 422
        assert prescriptions_of(mesh, PATIENT.resident_id) == before


# --- 电子身份证 ID card, 我的数据 my data -------------------------------------------------------------------


async def test_the_hosted_id_card_is_shown_whole_and_shown_whole_once(mesh):
    gateway = mesh.urls["gateway"]
    async with aclosing(a_browser(mesh)) as phone:
        await on_the_grid(mesh, phone, CAR_OWNER)
        card = await phone.get(gateway + "/app/id-card")
        assert card.status_code == 200, card.text
        for shown in (CAR_OWNER.name, CAR_OWNER.resident_id, CAR_OWNER.birth_date.isoformat(), CAR_OWNER.address):
            assert shown in card.text, shown
        assert "公民身份号码" in card.text and "https://bar.example" in card.text
        action, form = form_for(card.text, "/app/id-card/presentations")
        forged = await send(phone, mesh, action, form | {"form_token": "forged"})
        assert forged.status_code == 403
        for _ in range(2):
            sent = await send(phone, mesh, action, form)
            assert sent.status_code == 200 and "已出示" in sent.text and CAR_OWNER.resident_id in sent.text
        assert len(journey_events(mesh, CAR_OWNER.resident_id, "id-card")) == 1

        mine = await phone.get(gateway + "/app/my-data")
        assert "id-card: 1" in mine.text and CAR_OWNER.resident_id in mine.text
