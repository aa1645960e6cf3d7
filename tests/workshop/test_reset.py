"""Replaying the demo (``POST /demo/reset`` on every demo service, ``citygate reset``): the personas' state
as seeded again, nobody else's touched, only for the service's own operator, only with demo data."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from sqlmodel import col, select

from consent.models import ConsentArtefact, LedgerEntry
from kernel.demo_reset import RESET_PATH
from kernel.operators import operator_headers
from kernel.regime import Regime
from pod.models import Pod, StoredResource
from services.credit.models import CreditRecord
from services.fines.demo import DEFAULTER, DEFAULTER_PLATE, DEMO_PLATE
from services.fines.models import Fine, FineStatus, Payment
from services.prescriptions.demo import PATIENT
from tests.fixtures.demo_journeys import get_a_prescription, walk
from tests.fixtures.logins import consent_app, super_app
from tests.fixtures.mesh import Mesh
from tests.fixtures.operators import PASSWORD, at_desk, enrol, operator
from tests.fixtures.pod_clients import NOTE, app_for
from tests.fixtures.problems import assert_problem
from tests.fixtures.tokens import service_bearer
from tests.fixtures.wallet import balance, pay
from workshop.citizen_app import citizen_token
from workshop.reset import reset_demo, resettable

# what `citygate up` starts: the reset and the report reach every service and its data directory
ALL_STARTED = pytest.mark.started("all")

pytestmark = pytest.mark.backends("sqlite")

OTHER_PLATE = "粤B54321"


async def reset_all(mesh: Mesh, tmp_path) -> dict[str, dict[str, int]]:
    done = await reset_demo(tmp_path, [mesh.regime], transport=mesh.transport)
    return {reset.service: reset.done for reset in done}


def fines_of(mesh: Mesh, *plates: str) -> list[tuple[str | None, FineStatus]]:
    with mesh.apps["fines"].state.service.database.session() as session:
        rows = session.exec(select(Fine).where(col(Fine.plate).in_(plates)).order_by(col(Fine.id))).all()
        return [(fine.reference, fine.status) for fine in rows]


def payments_in_fines(mesh: Mesh) -> int:
    with mesh.apps["fines"].state.service.database.session() as session:
        return len(session.exec(select(Payment)).all())


async def someone_elses_fine(mesh: Mesh) -> None:
    """A resident who is no persona, with a car and a fine: what a reset must leave alone."""
    citizen = await enrol(mesh, 7)
    registered = await at_desk(
        mesh, "fines", "/vehicles", {"plate": OTHER_PLATE, "owner_resident_id": citizen["resident_id"]}
    )
    assert registered.status_code == 201, registered.text
    recorded = await at_desk(
        mesh,
        "fines",
        "/fines",
        {
            "reference": "other-camera-1",
            "plate": OTHER_PLATE,
            "offence": "Speeding",
            "place": "Huangpu Avenue",
            "occurred_at": "2026-11-01T08:00:00+08:00",
            "amount_cents": 10000,
            "due_date": "2099-12-31",
        },
    )
    assert recorded.status_code == 201, recorded.text


@ALL_STARTED
@pytest.mark.regimes(Regime.PLATFORM, Regime.RIGHTS)
async def test_twice_through_every_walkthrough_journey_with_a_reset_between(mesh, tmp_path):
    for journey in ("fines", "appointments"):
        succeeded, told = await walk(mesh, journey)
        assert succeeded, told
    again, told = await walk(mesh, "appointments")
    assert not again and "citygate reset" in told  # without a reset: used up, and the message says what to do
    await reset_all(mesh, tmp_path)
    for journey in ("fines", "appointments"):
        succeeded, told = await walk(mesh, journey)
        assert succeeded, told


@ALL_STARTED
@pytest.mark.regimes(Regime.PLATFORM)
async def test_fines_and_wallet_as_seeded_after_a_reset_and_nobody_elses_rows_touched(mesh, tmp_path):
    await someone_elses_fine(mesh)
    seeded = fines_of(mesh, DEMO_PLATE, DEFAULTER_PLATE)
    async with aclosing(await super_app(mesh)) as browser:
        starting = await balance(browser)
        fines = (await browser.get("/city-services/fines")).json()
        assert (await pay(browser, fines[0], "reset-test-1")).status_code == 201
        assert await balance(browser) < starting
        assert fines_of(mesh, DEMO_PLATE, DEFAULTER_PLATE) != seeded
        others = fines_of(mesh, OTHER_PLATE)

        done = await reset_all(mesh, tmp_path)

        assert done["fines"]["payments removed"] == 1 and done["gateway"]["wallet payments removed"] == 1
        await mesh.apps["fines"].state.service.worker.run_once()  # the sweep, woken by the reset, marks overdue
        assert fines_of(mesh, DEMO_PLATE, DEFAULTER_PLATE) == seeded
        assert payments_in_fines(mesh) == 0
        assert fines_of(mesh, OTHER_PLATE) == others  # a resident who is no persona: untouched
        # his phone stays logged in, but as seeded he has not yet agreed to the platform's user agreement
        assert_problem(await browser.get("/wallet"), 403, "agreement-required")
    async with aclosing(await super_app(mesh)) as browser:
        assert await balance(browser) == starting  # the wallet opens again with the starting balance


@pytest.mark.regimes(Regime.PLATFORM)
async def test_the_reset_is_only_for_the_services_own_operator(mesh):
    for service in resettable(Regime.PLATFORM):
        async with mesh.client(service) as client:
            assert_problem(await client.post(RESET_PATH), 401, "operator-unauthenticated")
            assert_problem(
                await client.post(RESET_PATH, headers=operator_headers("not-the-secret")),
                401,
                "operator-unauthenticated",
            )
    # another service's operator is not this one's
    async with mesh.client("fines") as fines:
        assert_problem(await fines.post(RESET_PATH, headers=operator(mesh, "gateway")), 401, "operator-unauthenticated")


@pytest.mark.parametrize("regime", list(Regime))
async def test_without_demo_data_there_is_no_reset(tmp_path, regime):
    async with Mesh(regime, tmp_path, demo=False) as mesh:
        for service in resettable(regime):
            async with mesh.client(service) as client:
                assert_problem(await client.post(RESET_PATH, headers=operator(mesh, service)), 404, "not-found")


@pytest.mark.regimes(Regime.PLATFORM)
async def test_a_reset_during_a_payment_leaves_no_half_state(mesh, tmp_path):
    """The fine is either paid with its payment, or unpaid without one; never one without the other."""
    async with aclosing(await super_app(mesh)) as browser:
        for attempt in range(3):
            fines = (await browser.get("/city-services/fines")).json()
            unpaid = next(fine for fine in fines if fine["status"] != "paid")
            async with mesh.client("fines") as fines_desk:
                paid, reset = await asyncio.gather(
                    pay(browser, unpaid, f"race-{attempt}"),
                    fines_desk.post(RESET_PATH, headers=operator(mesh, "fines")),
                )
            assert reset.status_code == 200, reset.text
            assert paid.status_code in (201, 202, 404, 409, 503), paid.text
            with mesh.apps["fines"].state.service.database.session() as session:
                for fine in session.exec(select(Fine).where(Fine.plate == DEMO_PLATE)).all():
                    payment = session.exec(select(Payment).where(Payment.fine_id == fine.id)).first()
                    assert (fine.status == FineStatus.PAID) == (payment is not None)
                    assert (fine.paid_at is not None) == (payment is not None)


@ALL_STARTED
@pytest.mark.regimes(Regime.PLATFORM)
async def test_the_credit_platform_forgets_the_personas_records_and_hears_of_the_reset_fine_again(mesh, tmp_path):
    fines = mesh.apps["fines"].state.service
    await fines.worker.run_once()  # Chen Jun's overdue fine reported
    done = await reset_all(mesh, tmp_path)
    assert done["credit"]["records removed"] == 1
    await fines.worker.run_once()  # the sweep, then the outbox: reported afresh
    with mesh.apps["credit"].state.service.database.session() as session:
        [record] = session.exec(select(CreditRecord)).all()
        assert record.subject == DEFAULTER.resident_id and record.settled_at is None


async def someone_elses_pod_and_consent(mesh: Mesh) -> tuple[str, str]:
    """A resident who is no persona, with a note in their pod and a consent asked of them: what the pod's
    and the consent ledger's resets must leave alone. Their pod's address and their consent's id."""
    other = await enrol(mesh, 7)
    async with mesh.client("identity") as identity:
        tokens = await citizen_token(identity, username=other["handle"], password=PASSWORD, resource_service="pod")
    async with mesh.client("pod") as pod:
        pod.headers["Authorization"] = f"Bearer {tokens.access_token}"
        storage = (await pod.post("/pods")).json()["storage"]
        assert (
            await pod.put(storage + "note.ttl", content=NOTE, headers={"Content-Type": "text/turtle"})
        ).status_code == 201
    prescriptions = (await mesh.running("prescriptions")).state.service.services
    subject = await prescriptions.sector_subject(other["resident_id"])
    async with mesh.client("consent") as consent:
        asked = await consent.post(
            "/consent-requests",
            json={
                "subject": subject,
                "purposes": ["dpv:ServiceProvision"],
                "categories": ["pd:Prescription"],
                "recipients": ["prescriptions"],
                "valid_until": "2030-01-01T00:00:00+00:00",
                "notice": "The pharmacy reads your prescription from your pod to dispense it.",
            },
            headers=service_bearer(mesh, "consent:request", client="prescriptions", audience="urn:citygate:consent"),
        )
    assert asked.status_code == 201, asked.text
    return storage, asked.json()["id"]


def consent_rows(mesh: Mesh) -> tuple[list[ConsentArtefact], list[LedgerEntry]]:
    with mesh.apps["consent"].state.service.database.session() as session:
        return list(session.exec(select(ConsentArtefact)).all()), list(session.exec(select(LedgerEntry)).all())


@ALL_STARTED
@pytest.mark.regimes(Regime.RIGHTS)
async def test_the_pod_and_the_consent_ledger_forget_the_personas_without_rewriting_the_log(mesh, tmp_path):
    others_pod, others_consent = await someone_elses_pod_and_consent(mesh)
    await get_a_prescription(mesh)  # the patient's pod, her consents, the ledger's entries about her
    ledger = mesh.apps["consent"].state.service.consent_book.ledger
    size, root = ledger.size(), ledger.root()
    artefacts, entries = consent_rows(mesh)
    async with mesh.client("consent") as consent:
        assert (await consent.get("/me/access-log", headers=await consent_app(mesh, PATIENT))).json()["entries"]

    done = await reset_all(mesh, tmp_path)

    assert done["pod"] == {"pods removed": 1, "resources removed": done["pod"]["resources removed"]}
    assert done["pod"]["resources removed"] >= 2  # her pod's root and the deposited prescription, at least
    assert done["consent"]["consents removed"] >= 3  # the keeping basis, the pharmacy's and the courier's consents
    # the log is what it was: not one leaf rewritten or removed, the same root for the same size
    assert (ledger.size(), ledger.root()) == (size, root)
    after_artefacts, after_entries = consent_rows(mesh)
    assert [entry.entry for entry in after_entries] == [entry.entry for entry in entries]
    assert [artefact.id for artefact in after_artefacts] == [others_consent]
    forgotten = [entry for entry in after_entries if entry.clear is None]
    assert len(forgotten) == done["consent"]["ledger entries' openings forgotten"] > 0
    assert all(entry.salt is None and entry.citizen_key is None for entry in forgotten)
    # someone else's entry keeps its opening: the one about the consent asked of them
    assert [entry.citizen_key for entry in after_entries if entry.clear is not None] == [
        artefacts_key(artefacts, others_consent)
    ]
    async with mesh.client("consent") as consent:
        headers = await consent_app(mesh, PATIENT)
        assert (await consent.get("/me/access-log", headers=headers)).json()["entries"] == []
        assert (await consent.get("/me/artefacts", headers=headers)).json() == []
    with mesh.apps["pod"].state.service.database.session() as session:
        pods = session.exec(select(Pod)).all()
        assert [others_pod.endswith(f"/pods/{pod.id}/") for pod in pods] == [True]
        assert session.get(StoredResource, others_pod.removeprefix(mesh.urls["pod"]) + "note.ttl") is not None
    async with aclosing(await app_for(mesh, PATIENT.handle)) as her_app:
        assert (await her_app.post("/pods")).status_code == 201  # her app creates her pod afresh, as at first


def artefacts_key(artefacts: list[ConsentArtefact], artefact_id: str) -> str:
    return next(artefact.citizen_key for artefact in artefacts if artefact.id == artefact_id)
