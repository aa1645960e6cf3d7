"""The hospital and pharmacy over HTTP in the platform regime's mesh (prescriptions kept in the
department's database), on SQLite and PostgreSQL: the whole journey, every bad input, and
exactly-once dispensing and payment under 50 concurrent requests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from sqlalchemy import inspect, text

from kernel.personas import by_handle
from services.prescriptions.demo import DEMO_PRESCRIPTION_ID
from services.prescriptions.models import DeliveryOrder, Payment, Prescription
from tests.fixtures.matrix import BOTH_BACKENDS, PLATFORM_ONLY
from tests.fixtures.prescriptions import (
    ADDRESS,
    DELIVER,
    DISPENSE,
    PAY,
    READ,
    app_db,
    auth,
    count,
    deliver,
    dispense,
    issue,
    patient_subject,
    pay,
)
from tests.fixtures.problems import assert_problem

# The full path (prescriptions kept in the department) exists in the platform regime; both backends.
pytestmark = [PLATFORM_ONLY, BOTH_BACKENDS, pytest.mark.started("prescriptions")]

PATIENT = by_handle("wang-fang")


# --- helpers (the rights regime's tests use them too) -----------------------------------------------


# --- the journey -----------------------------------------------------------------------------------


async def test_a_prescription_is_paid_dispensed_and_delivered_with_only_the_address_on_the_parcel(mesh):
    patient = patient_subject(mesh)
    assert patient == PATIENT.resident_id  # the platform's universal identifier
    async with mesh.client("prescriptions") as rx:
        listed = await rx.get(f"/citizens/{patient}/prescriptions", headers=auth(mesh, READ))
        assert listed.status_code == 200, listed.text
        assert [(p["id"], p["medication"], p["quantity"], p["diagnosis_code"], p["status"]) for p in listed.json()] == [
            (DEMO_PRESCRIPTION_ID, "Metformin hydrochloride 500 mg tablets", 60, "E11.9", "issued")
        ]
        one = await rx.get(f"/prescriptions/{DEMO_PRESCRIPTION_ID}", headers=auth(mesh, READ))
        assert one.json() == listed.json()[0]

        paid = await pay(rx, mesh, DEMO_PRESCRIPTION_ID, patient)
        assert paid.status_code == 201, paid.text
        receipt = paid.json()
        assert (receipt["prescription_id"], receipt["amount_cents"], receipt["currency"], receipt["payment_id"]) == (
            DEMO_PRESCRIPTION_ID,
            1860,
            "CNY",
            "wallet-key-1",
        )
        replay = await pay(rx, mesh, DEMO_PRESCRIPTION_ID, patient)
        assert (replay.status_code, replay.json()) == (200, receipt)

        dispensed = await dispense(rx, mesh, DEMO_PRESCRIPTION_ID)
        assert dispensed.status_code == 201, dispensed.text
        assert {k: v for k, v in dispensed.json().items() if k != "dispensed_at"} == {
            "prescription_id": DEMO_PRESCRIPTION_ID,
            "pharmacy": "Liwan Dashenlin Pharmacy",
            "medication": "Metformin hydrochloride 500 mg tablets",
            "dose": "500 mg twice daily with meals",
            "quantity": 60,
        }

        delivered = await deliver(rx, mesh, DEMO_PRESCRIPTION_ID)
        assert delivered.status_code == 201, delivered.text
        parcel = delivered.json()
        assert parcel.pop("consent_ledger_index") is None  # the platform asks the patient nothing
        assert set(parcel) == {"parcel_id", "address"} and parcel["address"] == ADDRESS

        after = (await rx.get(f"/prescriptions/{DEMO_PRESCRIPTION_ID}", headers=auth(mesh, READ))).json()
    assert (after["status"], after["pharmacy"], after["parcel_id"]) == (
        "dispensed",
        "Liwan Dashenlin Pharmacy",
        parcel["parcel_id"],
    )
    assert after["paid_at"] == receipt["paid_at"] and after["dispensed_at"] == dispensed.json()["dispensed_at"]

    # The courier's order, as stored: a parcel id and an address, nothing to say what or whose it is.
    with app_db(mesh).engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("delivery_order")}
        rows = [dict(row._mapping) for row in connection.execute(text("SELECT * FROM delivery_order"))]
    assert columns == {"parcel_id", "address"}
    assert rows == [parcel]
    courier_sees = repr(rows) + delivered.text
    for secret in (patient, PATIENT.name, "Wang", "Metformin", "E11.9", "500 mg", DEMO_PRESCRIPTION_ID):
        assert secret not in courier_sees


# --- bad input -------------------------------------------------------------------------------------


async def test_every_bad_request_is_a_problem_and_changes_nothing(mesh):
    patient = patient_subject(mesh)
    rx_id = issue(mesh, patient).id
    endpoints = [
        ("GET", f"/citizens/{patient}/prescriptions", READ, None),
        ("GET", f"/prescriptions/{rx_id}", READ, None),
        ("POST", f"/prescriptions/{rx_id}/payments", PAY, {"confirmation": "x"}),
        ("POST", f"/prescriptions/{rx_id}/dispensations", DISPENSE, {"pharmacy": "P"}),
        ("POST", f"/prescriptions/{rx_id}/delivery", DELIVER, {"address": "A"}),
    ]
    async with mesh.client("prescriptions") as rx:
        for method, path, permission, body in endpoints:
            assert_problem(await rx.request(method, path, json=body), 401, "unauthenticated")
            assert_problem(
                await rx.request(method, path, json=body, headers={"Authorization": "Bearer nope"}),
                401,
                "invalid-token",
            )
            # a department not listed for the permission, and the gateway with another permission
            assert_problem(
                await rx.request(method, path, json=body, headers=auth(mesh, permission, "fines")),
                403,
                "forbidden-caller",
            )
            other = READ if permission != READ else PAY
            assert_problem(
                await rx.request(method, path, json=body, headers=auth(mesh, other)), 403, "forbidden-caller"
            )

        # unknown prescriptions
        assert_problem(await rx.get("/prescriptions/rx-nope", headers=auth(mesh, READ)), 404, "prescription-not-found")
        assert_problem(await pay(rx, mesh, "rx-nope", patient), 404, "prescription-not-found")
        assert_problem(await dispense(rx, mesh, "rx-nope"), 404, "prescription-not-found")
        assert_problem(await deliver(rx, mesh, "rx-nope"), 404, "prescription-not-found")
        listed = await rx.get("/citizens/nobody/prescriptions", headers=auth(mesh, READ))
        assert (listed.status_code, listed.json()) == (200, [])

        # paying: the header, the body, the signature, the claims
        payments = f"/prescriptions/{rx_id}/payments"
        assert_problem(await pay(rx, mesh, rx_id, patient, key=None), 400, "idempotency-key-missing")
        assert_problem(await pay(rx, mesh, rx_id, patient, key="has space"), 400, "invalid-idempotency-key")
        assert_problem(await pay(rx, mesh, rx_id, patient, key="k" * 201), 400, "invalid-idempotency-key")
        key_only = auth(mesh, PAY) | {"Idempotency-Key": "key-1"}
        assert_problem(await rx.post(payments, json={}, headers=key_only), 422, "invalid-request")
        assert_problem(
            await rx.post(payments, content=b"{", headers=key_only | {"content-type": "application/json"}),
            422,
            "invalid-request",
        )
        assert_problem(
            await rx.post(payments, json={"confirmation": "not.a.jws"}, headers=key_only),
            422,
            "invalid-payment-confirmation",
        )
        for forged in ({"signer": "fines"}, {"typ": "other+jwt"}, {"now": int(time.time()) - 2 * 86400}):
            assert_problem(await pay(rx, mesh, rx_id, patient, **forged), 422, "invalid-payment-confirmation")
        assert_problem(await pay(rx, mesh, rx_id, patient, amount_cents="1860"), 422, "invalid-payment-confirmation")
        for claim, wrong in (
            ("payee", "fines"),
            ("reference", DEMO_PRESCRIPTION_ID),
            ("idempotency_key", "other"),
            ("amount_cents", 1),
            ("currency", "USD"),
        ):
            overridden: dict[str, Any] = {claim: wrong}
            body = assert_problem(
                await pay(rx, mesh, rx_id, patient, **overridden),
                422,
                "payment-confirmation-mismatch",
            )
            assert body["claim"] == claim
            assert "1860" not in json.dumps(body) and "CNY" not in json.dumps(body)  # what it needs is not told
        assert_problem(await pay(rx, mesh, rx_id, "someone-else"), 422, "payer-not-patient")
        assert_problem(await rx.post(payments, content=b"x" * (64 * 1024 + 1), headers=key_only), 413, "body-too-large")
        assert count(mesh, Payment) == 0

        # the order of things: no dispensing before payment, no delivery before dispensing
        assert_problem(await dispense(rx, mesh, rx_id), 409, "not-paid")
        assert_problem(await deliver(rx, mesh, rx_id), 409, "not-dispensed")
        assert (await pay(rx, mesh, rx_id, patient, key="key-1")).status_code == 201
        assert_problem(
            await pay(rx, mesh, rx_id, patient, key="key-1", payment_id="wallet-other"), 409, "idempotency-key-reused"
        )
        assert_problem(await pay(rx, mesh, rx_id, patient, key="key-2"), 409, "already-paid")
        assert count(mesh, Payment) == 1

        for pharmacy in ("", "   ", "p" * 201):
            assert_problem(await dispense(rx, mesh, rx_id, pharmacy=pharmacy), 422, "invalid-request")
        assert_problem(
            await rx.post(f"/prescriptions/{rx_id}/dispensations", json={}, headers=auth(mesh, DISPENSE)),
            422,
            "invalid-request",
        )
        assert (await dispense(rx, mesh, rx_id)).status_code == 201
        assert_problem(await dispense(rx, mesh, rx_id, pharmacy="Another Pharmacy"), 409, "already-dispensed")

        for address in ("", "   ", "a" * 501):
            assert_problem(await deliver(rx, mesh, rx_id, address=address), 422, "invalid-request")
        assert_problem(
            await rx.post(f"/prescriptions/{rx_id}/delivery", json={"parcel_id": "mine"}, headers=auth(mesh, DELIVER)),
            422,
            "invalid-request",
        )
        assert (await deliver(rx, mesh, rx_id)).status_code == 201
        assert_problem(await deliver(rx, mesh, rx_id, address="elsewhere"), 409, "delivery-already-ordered")

    assert count(mesh, DeliveryOrder) == 1
    with app_db(mesh).session() as session:
        stored = session.get(Prescription, rx_id)
        assert (stored.status, stored.pharmacy) == ("dispensed", "Liwan Dashenlin Pharmacy")


# --- exactly once under concurrency ------------------------------------------------------------------


async def test_fifty_concurrent_dispensings_hand_the_prescription_over_once(mesh, backend):
    patient = patient_subject(mesh)
    async with mesh.client("prescriptions") as rx:
        assert (await pay(rx, mesh, DEMO_PRESCRIPTION_ID, patient)).status_code == 201
        headers = auth(mesh, DISPENSE)
        responses = await asyncio.gather(
            *(dispense(rx, mesh, DEMO_PRESCRIPTION_ID, pharmacy=f"Pharmacy {n}", headers=headers) for n in range(50))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 49, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "already-dispensed")
    winner = next(r.json() for r in responses if r.status_code == 201)
    with app_db(mesh).session() as session:
        stored = session.get(Prescription, DEMO_PRESCRIPTION_ID)
        assert (stored.status, stored.pharmacy) == ("dispensed", winner["pharmacy"])


async def test_fifty_concurrent_payments_make_one_payment(mesh, backend):
    patient = patient_subject(mesh)
    second = issue(mesh, patient).id
    headers = auth(mesh, PAY)
    async with mesh.client("prescriptions") as rx:
        # the same request fifty times (one idempotency key): one payment, the same receipt for all
        same_key = await asyncio.gather(
            *(pay(rx, mesh, DEMO_PRESCRIPTION_ID, patient, key="one-key", headers=headers) for _ in range(50))
        )
        # fifty different requests for another prescription: one of them pays it
        many_keys = await asyncio.gather(
            *(pay(rx, mesh, second, patient, key=f"key-{n}", headers=headers) for n in range(50))
        )
    statuses = sorted(response.status_code for response in same_key)
    assert statuses == [200] * 49 + [201], [r.text for r in same_key if r.status_code not in (200, 201)][:3]
    assert len({response.text for response in same_key}) == 1
    assert sorted(response.status_code for response in many_keys) == [201] + [409] * 49
    for response in many_keys:
        if response.status_code == 409:
            assert_problem(response, 409, "already-paid")
    assert count(mesh, Payment, Payment.prescription_id == DEMO_PRESCRIPTION_ID) == 1
    assert count(mesh, Payment, Payment.prescription_id == second) == 1
