"""The super-app's wallet, through the gateway's API, in both regimes and on both databases: a
payment completes at both ends or not at all, a department that is down or slow leaves a pending
payment that is retried (on demand and in the background) and never charged twice, and in the
rights regime the gateway learns no resident ID from taking a payment."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jws, jwt
from sqlalchemy import select as select_rows
from sqlmodel import col, select

from kernel.personas import DEMO_PASSWORD, by_handle
from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from services.fines.demo import CAR_OWNER, DEFAULTER, DEFAULTER_PLATE
from services.fines.models import Fine, FineStatus
from services.fines.models import Payment as FinePayment
from services.prescriptions.demo import DEMO_PRESCRIPTION_ID
from services.prescriptions.models import ContentsLocation, Prescription, PrescriptionStatus
from services.prescriptions.models import Payment as PrescriptionPayment
from superapp_gateway import wallet
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.models import (
    CitizenSession,
    GatewayTable,
    PaymentStatus,
    UserAgreementAcceptance,
    Wallet,
    WalletPayment,
)
from superapp_gateway.retrier import MAX_BACKOFF_SECONDS, backoff_seconds
from superapp_gateway.sessions import session_id_digest
from superapp_gateway.user_agreement import PLATFORM_VERSION
from tests.fixtures.databases import sqlite_session
from tests.fixtures.fines import DEMO_PLATE
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.narrowing import present
from tests.fixtures.problems import assert_problem
from tests.fixtures.transports import LateAnswers
from tests.fixtures.wallet import balance
from workshop.super_app import log_in_to_super_app

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("gateway", "fines", "prescriptions")]

START = 100_000  # the default starting balance, in fen
PATIENT = by_handle("wang-fang")


# --- helpers -----------------------------------------------------------------------------------------


async def log_in(mesh: Mesh, handle: str = CAR_OWNER.handle) -> dict[str, str]:
    """The browser login (the platform's user agreement agreed to); returns the session cookie it leaves."""
    name = f"citygate_gateway_{mesh.regime.value}"
    async with httpx.AsyncClient(transport=mesh.transport) as browser:
        await log_in_to_super_app(browser, mesh.urls["gateway"], username=handle, password=DEMO_PASSWORD)
        return {name: browser.cookies[name]}


def super_app(mesh: Mesh, cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
    """The citizen's super-app talking to the gateway with the session cookie."""
    return httpx.AsyncClient(transport=mesh.transport, base_url=mesh.urls["gateway"], cookies=cookies)


async def pay(
    app: httpx.AsyncClient, reference, amount_cents: int, *, key: str | None = "key-1", payee: str = "fines"
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await app.post(
        "/wallet/payments",
        headers=headers,
        json={"payee": payee, "reference": str(reference), "amount_cents": amount_cents},
    )


def fines_of(mesh: Mesh, plate: str = DEMO_PLATE) -> list[Fine]:
    """Li Wei's two demo fines (red light ¥200, bus lane ¥150), or another car's."""
    with mesh.apps["fines"].state.service.database.session() as session:
        return list(session.exec(select(Fine).where(Fine.plate == plate).order_by(col(Fine.id))).all())


def fine_payments(mesh: Mesh, fine_id: int | None) -> list[FinePayment]:
    with mesh.apps["fines"].state.service.database.session() as session:
        return list(session.exec(select(FinePayment).where(FinePayment.fine_id == fine_id)).all())


def gateway_rows(mesh: Mesh, table) -> list:
    with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
        return list(session.exec(select(table)).all())


def gateway_dump(mesh: Mesh) -> str:
    """Every value in every table of the gateway's database, as text."""
    with state_of(mesh.apps["gateway"], GatewayState).database.session() as session:
        rows = session.connection()
        return repr([rows.execute(select_rows(table)).all() for table in GatewayTable.metadata.sorted_tables])


def confirmation_claims(mesh: Mesh, statement: str) -> dict:
    """A payment+jwt statement the department filed, checked against the gateway's key."""
    assert jws.extract_compact(statement.encode()).headers()["typ"] == "payment+jwt"
    return jwt.decode(statement, state_of(mesh.apps["gateway"], GatewayState).signing_key, algorithms=["ES256"]).claims


def expected_payer(mesh: Mesh, persona, payment_id: str) -> str:
    """Platform: the resident ID the departments know; rights: an opaque per-payment value."""
    return persona.resident_id if mesh.regime is Regime.PLATFORM else f"wallet:{payment_id}"


async def eventually(check, within: float = 10.0):
    deadline = time.monotonic() + within
    while not (result := await check()):
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)
    return result


# --- paying --------------------------------------------------------------------------------------------


async def test_paying_a_fine_completes_it_at_both_ends_and_a_repeat_charges_nothing(mesh):
    red_light, bus_lane = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        assert (await app.get("/wallet")).json() == {"balance_cents": START, "currency": "CNY", "payments": []}
        first = await pay(app, red_light.id, 20000)
        assert first.status_code == 201, first.text
        payment = first.json()
        assert (
            payment["status"],
            payment["payee"],
            payment["reference"],
            payment["amount_cents"],
            payment["currency"],
            payment["attempts"],
        ) == ("completed", "fines", str(red_light.id), 20000, "CNY", 1)

        again = await pay(app, red_light.id, 20000)
        assert (again.status_code, again.json()) == (200, payment)
        assert_problem(await pay(app, bus_lane.id, 15000), 409, "idempotency-key-reused")
        assert_problem(await pay(app, red_light.id, 20001), 409, "idempotency-key-reused")

        shown = (await app.get("/wallet")).json()
        assert shown["balance_cents"] == START - 20000 and shown["payments"] == [payment]
        assert (await app.get(f"/wallet/payments/{payment['id']}")).json() == payment

    # the department's side: paid once, with the wallet's confirmation filed
    [filed] = fine_payments(mesh, red_light.id)
    assert (filed.receipt_id, filed.payment_id, filed.idempotency_key) == (
        payment["department_receipt"],
        payment["id"],
        payment["id"],
    )
    claims = confirmation_claims(mesh, filed.confirmation)
    assert {k: v for k, v in claims.items() if k != "iat"} == {
        "iss": "gateway",
        "payment_id": payment["id"],
        "payer": expected_payer(mesh, CAR_OWNER, payment["id"]),
        "payee": "fines",
        "reference": str(red_light.id),
        "amount_cents": 20000,
        "currency": "CNY",
        "idempotency_key": payment["id"],
    }
    assert [fine.status for fine in fines_of(mesh)] == [FineStatus.PAID, FineStatus.UNPAID]
    assert len(gateway_rows(mesh, WalletPayment)) == 1


async def test_paying_a_prescription(mesh):
    """Platform: Wang Fang's demo prescription. Rights (where prescriptions live in her pod): a
    process record put in the department directly, since paying needs nothing else."""
    if mesh.regime is Regime.PLATFORM:
        rx_id = DEMO_PRESCRIPTION_ID
    else:
        rx_id = "rx-wallet-test"
        patient = await state_of(mesh.apps["prescriptions"], ServiceState).services.sector_subject(PATIENT.resident_id)
        with state_of(mesh.apps["prescriptions"], ServiceState).database.session() as session:
            session.add(
                Prescription(
                    id=rx_id,
                    patient=patient,
                    amount_cents=1860,
                    issued_at=datetime.now(UTC),
                    contents_in=ContentsLocation.POD,
                    pod_ref="https://pod.invalid/rx",
                )
            )
            session.commit()
    async with super_app(mesh, await log_in(mesh, PATIENT.handle)) as app:
        paid = await pay(app, rx_id, 1860, payee="prescriptions")
        assert paid.status_code == 201, paid.text
        assert await balance(app) == START - 1860
    with state_of(mesh.apps["prescriptions"], ServiceState).database.session() as session:
        stored = session.get(Prescription, rx_id)
        assert stored is not None and stored.status == PrescriptionStatus.PAID
        [filed] = session.exec(select(PrescriptionPayment)).all()
    assert (filed.id, filed.payer) == (
        paid.json()["department_receipt"],
        expected_payer(mesh, PATIENT, paid.json()["id"]),
    )


async def test_an_insufficient_balance_is_402_and_nothing_is_stored_at_either_end(mesh):
    state_of(mesh.apps["gateway"], GatewayState).settings.wallet_starting_balance_cents = 10000
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        refused = assert_problem(await pay(app, red_light.id, 20000), 402, "insufficient-balance")
        assert (refused["balance_cents"], refused["amount_cents"]) == (10000, 20000)
        assert gateway_rows(mesh, WalletPayment) == [] and gateway_rows(mesh, Wallet) == []
        assert await balance(app) == 10000
        # nothing was kept under the key either: it may name a payment that fits
        _, bus_lane = fines_of(mesh)
        assert_problem(await pay(app, bus_lane.id, 15000), 402, "insufficient-balance")
    assert fine_payments(mesh, red_light.id) == [] and fine_payments(mesh, bus_lane.id) == []


async def test_a_refusal_cancels_and_refunds_and_passes_the_departments_problem_on(mesh):
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        wrong = assert_problem(await pay(app, red_light.id, 100, key="wrong-amount"), 422, "bill-not-payable")
        assert (wrong["department"], wrong["payment_status"]) == ("fines", "cancelled")
        assert (await pay(app, red_light.id, 20000, key="right")).status_code == 201
        twice = assert_problem(await pay(app, red_light.id, 20000, key="twice"), 409, "fine-already-paid")
        assert "already been paid" in twice["detail"]
        assert_problem(await pay(app, 999999, 100, key="unknown"), 422, "bill-not-payable")
        assert_problem(await pay(app, "not-a-fine-id", 100, key="malformed"), 422, "bill-not-payable")
        assert_problem(await pay(app, red_light.id, 100, key="nobody", payee="credit"), 422, "unknown-payee")

        shown = (await app.get("/wallet")).json()
        assert shown["balance_cents"] == START - 20000  # only the completed one is debited
        assert {p["idempotency_key"]: p["status"] for p in shown["payments"]} == {
            "wrong-amount": "cancelled",
            "right": "completed",
            "twice": "cancelled",
            "unknown": "cancelled",
            "malformed": "cancelled",
        }
        cancelled = (await app.get(f"/wallet/payments/{twice['payment_id']}")).json()
        assert cancelled["last_error"].startswith("409 fine-already-paid")
        # a cancelled payment stays what it is: cancelling, retrying or repeating it changes nothing
        assert (await app.delete(f"/wallet/payments/{twice['payment_id']}")).json() == cancelled
        assert (await app.post(f"/wallet/payments/{twice['payment_id']}/retry")).json() == cancelled
        repeated = await pay(app, red_light.id, 20000, key="twice")
        assert (repeated.status_code, repeated.json()) == (200, cancelled)
        assert await balance(app) == START - 20000
    assert len(fine_payments(mesh, red_light.id)) == 1


async def test_who_may_pay_a_fine_is_the_regimes_rule(mesh):
    """Chen Jun pays Li Wei's fine: on the platform the wallet names him by resident ID and the
    traffic police refuse (not the owner); in the rights regime a fine is paid by its reference."""
    _, bus_lane = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh, DEFAULTER.handle)) as app:
        response = await pay(app, bus_lane.id, 15000)
        if mesh.regime is Regime.PLATFORM:
            assert_problem(response, 422, "bill-not-payable")
            assert await balance(app) == START
        else:
            assert response.status_code == 201, response.text
            assert await balance(app) == START - 15000


async def test_the_wallet_tells_nobody_which_bills_exist_whose_they_are_or_what_they_cost(mesh):
    """L4: no such bill, someone else's bill, a wrong amount, a malformed reference: one answer,
    with no expected value in it, and the same in the payment's record."""
    red_light, bus_lane = fines_of(mesh)
    owner, stranger, patient = [
        super_app(mesh, await log_in(mesh, persona.handle)) for persona in (CAR_OWNER, DEFAULTER, PATIENT)
    ]
    guesses = [
        (owner, "fines", 999999, 100),
        (owner, "fines", "not-a-fine", 100),
        (owner, "fines", red_light.id, 100),
        (owner, "prescriptions", "rx-no-such", 1),
    ]
    if mesh.regime is Regime.PLATFORM:  # bills are their addressee's to pay: another's, at any amount
        guesses += [
            (stranger, "fines", red_light.id, 100),
            (stranger, "fines", bus_lane.id, bus_lane.amount_cents),
            (owner, "prescriptions", DEMO_PRESCRIPTION_ID, 1860),
            (patient, "prescriptions", DEMO_PRESCRIPTION_ID, 1),
        ]
    async with owner, stranger, patient:
        answers = [
            await pay(app, reference, amount, key=f"guess-{i}", payee=payee)
            for i, (app, payee, reference, amount) in enumerate(guesses)
        ]
        shown = [
            (await app.get(f"/wallet/payments/{answer.json()['payment_id']}")).json()
            for (app, *_), answer in zip(guesses, answers, strict=True)
        ]
    problems = [assert_problem(answer, 422, "bill-not-payable") for answer in answers]
    assert len({problem["detail"] for problem in problems}) == 1
    assert all(
        set(problem)
        == {"type", "title", "status", "detail", "instance", "request_id", "department", "payment_id", "payment_status"}
        for problem in problems
    )
    [last_error] = {payment["last_error"] for payment in shown}
    for expected in (red_light.amount_cents, bus_lane.amount_cents, 1860):  # what the bills really cost
        assert str(expected) not in problems[0]["detail"] + last_error
    assert fine_payments(mesh, red_light.id) == [] and fine_payments(mesh, bus_lane.id) == []


async def test_fifty_concurrent_requests_with_one_key_debit_once(mesh):
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        answers = await asyncio.gather(*(pay(app, red_light.id, 20000) for _ in range(50)))
        assert Counter(answer.status_code for answer in answers) == {201: 1, 200: 49}, answers[0].text
        assert len({answer.json()["id"] for answer in answers}) == 1
        assert await balance(app) == START - 20000
    assert len(gateway_rows(mesh, WalletPayment)) == 1 and len(fine_payments(mesh, red_light.id)) == 1


# --- faults ----------------------------------------------------------------------------------------------


async def test_a_department_that_is_down_leaves_a_pending_payment_completed_exactly_once_on_retry(mesh):
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        mesh.stop("fines")
        down = assert_problem(await pay(app, red_light.id, 20000), 503, "department-unavailable")
        assert down["payment_status"] == "pending"
        payment_id = down["payment_id"]
        assert await balance(app) == START - 20000  # reserved while pending

        assert_problem(await app.post(f"/wallet/payments/{payment_id}/retry"), 503, "department-unavailable")
        in_doubt = assert_problem(await app.delete(f"/wallet/payments/{payment_id}"), 409, "payment-in-doubt")
        assert in_doubt["payment_status"] == "pending"
        repeated = await pay(app, red_light.id, 20000)  # the same key: the same payment, no new debit
        assert (repeated.status_code, repeated.json()["id"], repeated.json()["status"]) == (200, payment_id, "pending")
        pending = (await app.get(f"/wallet/payments/{payment_id}")).json()
        assert (pending["status"], pending["attempts"]) == ("pending", 3) and "fines" in pending["last_error"]
        assert await balance(app) == START - 20000
        assert fine_payments(mesh, red_light.id) == []

        mesh.start("fines")
        retried = await app.post(f"/wallet/payments/{payment_id}/retry")
        assert retried.status_code == 200, retried.text
        assert (retried.json()["status"], retried.json()["attempts"]) == ("completed", 4)
        assert (await app.post(f"/wallet/payments/{payment_id}/retry")).json() == retried.json()  # nothing to do
        assert_problem(await app.delete(f"/wallet/payments/{payment_id}"), 409, "payment-completed")
        assert await balance(app) == START - 20000
    [filed] = fine_payments(mesh, red_light.id)
    assert filed.payment_id == payment_id and filed.receipt_id == retried.json()["department_receipt"]


async def test_the_background_retry_completes_a_pending_payment_exactly_once(mesh):
    gateway = mesh.apps["gateway"]
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        mesh.stop("fines")
        payment_id = assert_problem(await pay(app, red_light.id, 20000), 503, "department-unavailable")["payment_id"]
        mesh.start("fines")
        # due once no attempt has touched it for the department timeout; passes every 0.1 s
        state_of(gateway, GatewayState).settings.department_timeout_seconds = 0.5
        state_of(gateway, GatewayState).settings.wallet_retry_seconds = 0.1
        retrier = state_of(gateway, GatewayState).wallet_retrier
        assert retrier is not None
        retrier.wake()

        async def completed():
            shown = (await app.get(f"/wallet/payments/{payment_id}")).json()
            return shown if shown["status"] == "completed" else None

        payment = await eventually(completed)
        # the failed attempt, then the retrier's: one more if a loaded machine let a retry time out
        # (the department then finds the same payment id and files it once, as checked below)
        assert payment["attempts"] >= 2
        await asyncio.sleep(0.3)  # later passes find nothing to do
        assert (await app.get(f"/wallet/payments/{payment_id}")).json() == payment
        assert await balance(app) == START - 20000
    assert len(fine_payments(mesh, red_light.id)) == 1


async def test_a_slow_department_is_answered_504_in_bounded_time_and_the_payment_is_never_refunded(mesh):
    red_light, bus_lane = fines_of(mesh)
    fines_host = urlsplit(mesh.urls["fines"]).netloc
    async with super_app(mesh, await log_in(mesh)) as app:
        assert (await pay(app, bus_lane.id, 15000, key="warm-up")).status_code == 201  # the gateway has a token
        state_of(mesh.apps["gateway"], GatewayState).settings.department_timeout_seconds = 0.3
        slow = LateAnswers(mesh.transport.routes[fines_host], delay=1.2)
        mesh.transport.routes[fines_host] = slow
        started = time.monotonic()
        late = assert_problem(await pay(app, red_light.id, 20000), 504, "department-timeout")
        assert time.monotonic() - started < 1.0
        assert late["payment_status"] == "pending"
        await asyncio.gather(*slow.calls)  # meanwhile the traffic police did take it
        mesh.transport.routes[fines_host] = slow.inner
        assert len(fine_payments(mesh, red_light.id)) == 1

        # a cancel now learns that the department has the payment: no refund, it completed
        refused = assert_problem(await app.delete(f"/wallet/payments/{late['payment_id']}"), 409, "payment-completed")
        assert refused["payment_status"] == "completed"
        assert await balance(app) == START - 15000 - 20000
    assert len(fine_payments(mesh, red_light.id)) == 1


# --- who may see what --------------------------------------------------------------------------------------


async def test_a_citizen_sees_only_their_own_payments_and_keys_are_per_citizen(mesh):
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as li_wei:
        payment_id = (await pay(li_wei, red_light.id, 20000)).json()["id"]
    async with super_app(mesh, await log_in(mesh, DEFAULTER.handle)) as chen_jun:
        payment_path = f"/wallet/payments/{payment_id}"
        for method, path in (("GET", payment_path), ("POST", payment_path + "/retry"), ("DELETE", payment_path)):
            assert_problem(await chen_jun.request(method, path), 404, "payment-not-found")
        assert (await chen_jun.get("/wallet")).json() == {"balance_cents": START, "currency": "CNY", "payments": []}
        [his] = fines_of(mesh, DEFAULTER_PLATE)
        assert (await pay(chen_jun, his.id, his.amount_cents)).status_code == 201  # the same key, his own
    async with super_app(mesh) as anonymous:
        assert_problem(await anonymous.get(f"/wallet/payments/{payment_id}"), 401, "not-logged-in")


async def test_the_wallet_needs_a_session_and_a_payment_needs_an_idempotency_key(mesh):
    gateway = mesh.apps["gateway"]
    with state_of(gateway, GatewayState).database.session() as session:
        session.add_all(
            [
                CitizenSession(
                    id=session_id_digest("cli-session"),
                    subject="cli-subject",
                    claims="{}",
                    acr="",
                    expires_at=datetime.now(UTC) + timedelta(hours=1),
                ),
                CitizenSession(
                    id=session_id_digest("expired-session"),
                    subject="cli-subject",
                    claims="{}",
                    acr="",
                    expires_at=datetime.now(UTC) - timedelta(seconds=1),
                ),
                # the platform's sign-up agreement, agreed to (superapp_gateway/user_agreement.py)
                UserAgreementAcceptance(subject="cli-subject", version=PLATFORM_VERSION, accepted_at=datetime.now(UTC)),
            ]
        )
        session.commit()
    calls = [
        ("GET", "/wallet", None),
        ("POST", "/wallet/payments", {"payee": "fines", "reference": "1", "amount_cents": 1}),
        ("GET", "/wallet/payments/x", None),
        ("POST", "/wallet/payments/x/retry", None),
        ("DELETE", "/wallet/payments/x", None),
    ]
    cookie = f"citygate_gateway_{mesh.regime.value}"
    async with mesh.client("gateway") as client:
        for method, path, body in calls:
            for headers in (
                {},
                {"Authorization": "Bearer nonsense"},
                {"Authorization": "Bearer expired-session"},
                {"Authorization": "Basic Y2xpOmNsaQ=="},
                {"Cookie": f"{cookie}=expired-session"},
            ):
                refused = await client.request(method, path, json=body, headers={**headers, "Idempotency-Key": "k"})
                assert_problem(refused, 401, "not-logged-in")
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        # an API client (a CLI) presents its session as a bearer
        cli = {"Authorization": "Bearer cli-session"}
        assert (await client.get("/wallet", headers=cli)).json()["balance_cents"] == START
        order = {"payee": "fines", "reference": "1", "amount_cents": 1}
        assert_problem(await client.post("/wallet/payments", json=order, headers=cli), 400, "idempotency-key-missing")
        for key in ("", "has space", "k" * 201):
            assert_problem(
                await client.post("/wallet/payments", json=order, headers=cli | {"Idempotency-Key": key}),
                400,
                "invalid-idempotency-key",
            )
        for bad in ({"amount_cents": 0}, {"amount_cents": "100"}, {"reference": ""}, {"payee": None}):
            assert_problem(
                await client.post("/wallet/payments", json=order | bad, headers=cli | {"Idempotency-Key": "k"}),
                422,
                "invalid-request",
            )
    assert gateway_rows(mesh, WalletPayment) == []


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_in_the_rights_regime_taking_a_payment_teaches_the_gateway_no_resident_id(mesh):
    red_light, _ = fines_of(mesh)
    async with super_app(mesh, await log_in(mesh)) as app:
        paid = await pay(app, red_light.id, 20000)
        assert paid.status_code == 201, paid.text
    dump = gateway_dump(mesh)
    assert paid.json()["id"] in dump  # the dump does hold the payment
    transport_pseudonym = await mesh.apps["fines"].state.service.services.sector_subject(CAR_OWNER.resident_id)
    for secret in (CAR_OWNER.resident_id, present(CAR_OWNER.phone), transport_pseudonym, DEMO_PLATE):
        assert secret not in dump
    # and the traffic police learn only the wallet's payment, not who the platform knows paid it
    [filed] = fine_payments(mesh, red_light.id)
    [session] = gateway_rows(mesh, CitizenSession)
    assert filed.payer_ref == f"wallet:{paid.json()['id']}" and session.subject not in (filed.confirmation or "")


# --- the ledger without HTTP -----------------------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path):
    with sqlite_session(tmp_path, GatewayTable.metadata) as session:
        yield session


def test_a_payment_leaves_pending_once_and_is_refunded_at_most_once(ledger):
    now = datetime.now(UTC)
    order = wallet.PaymentOrder(payee="fines", reference="7", amount_cents=300)
    first, _ = wallet.start_payment(ledger, "s", order, idempotency_key="a", starting_balance=1000, now=now)
    second, _ = wallet.start_payment(ledger, "s", order, idempotency_key="b", starting_balance=1000, now=now)
    assert ledger.get(Wallet, "s").balance_cents == 400

    assert wallet.cancel_and_refund(ledger, first.id, reason="409 already paid", now=now).status is (
        PaymentStatus.CANCELLED
    )
    assert wallet.cancel_and_refund(ledger, first.id, reason="again", now=now).last_error == "409 already paid"
    assert wallet.complete(ledger, first.id, receipt="R-1", now=now).status is PaymentStatus.CANCELLED
    assert wallet.complete(ledger, second.id, receipt="R-2", now=now).department_receipt == "R-2"
    assert wallet.cancel_and_refund(ledger, second.id, reason="late", now=now).status is PaymentStatus.COMPLETED
    assert wallet.record_no_answer(ledger, second.id, reason="down", now=now).last_error is None
    assert ledger.get(Wallet, "s").balance_cents == 700  # one refund, of the cancelled one only


def test_a_payment_left_unanswered_is_asked_less_often_but_never_dropped():
    assert [backoff_seconds(attempts, 5.0) for attempts in (0, 1, 2, 3, 4)] == [5.0, 5.0, 10.0, 20.0, 40.0]
    assert backoff_seconds(1000, 5.0) == MAX_BACKOFF_SECONDS  # capped, and still retried
    assert backoff_seconds(3, 600.0) == 600.0  # never shorter than the interval itself


def test_payments_waiting_out_their_back_off_never_crowd_out_a_due_one(ledger):
    now = datetime.now(UTC)

    def pending(payment_id: str, attempts: int, last_attempt_ago: float) -> WalletPayment:
        at = now - timedelta(seconds=last_attempt_ago)
        return WalletPayment(
            id=payment_id,
            subject="s",
            payee="fines",
            reference=payment_id,
            amount_cents=1,
            currency="CNY",
            idempotency_key=payment_id,
            request_fingerprint="f",
            status=PaymentStatus.PENDING,
            attempts=attempts,
            created_at=at,
            updated_at=at,
        )

    wallet.wallet_of(ledger, "s", starting_balance=1000, now=now)
    # Sixty payments asked 20 times, last 100 s ago: still inside their 300 s back-off, and older than the
    # one that is due (asked once, 12 s ago: due after 5 s). A limit of 50 must still reach it.
    ledger.add_all([pending(f"waiting-{n}", 20, 100.0) for n in range(60)])
    ledger.add_all(
        [
            pending("due", 1, 12.0),
            pending("just-asked", 1, 2.0),
            pending("third-try", 3, 15.0),
            pending("capped-and-due", 20, 301.0),
        ]
    )
    ledger.commit()

    def wait_after(attempts: int) -> timedelta:
        return timedelta(seconds=max(5.0, backoff_seconds(attempts, 5.0)))

    due = wallet.due_for_retry(ledger, now=now, wait_after=wait_after, limit=50)
    # "third-try" waits 20 s after its 3rd attempt; "just-asked" is inside the department timeout
    assert [payment.id for payment in due] == ["capped-and-due", "due"]
