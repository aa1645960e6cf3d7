"""The traffic police over HTTP, in both regimes and on both databases: reading fines, paying them."""

from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import quote

import pytest
from joserfc.jwk import ECKey

from kernel.regime import Regime
from services.fines.demo import CAR_OWNER, DEFAULTER, DEFAULTER_PLATE
from tests.fixtures.fines import (
    DEMO_PLATE,
    bearer,
    citizen_fines,
    confirmation,
    get,
    payment_rows,
    post_payment,
    subject_of,
)
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("fines")]

# --- helpers -----------------------------------------------------------------------------------


# --- reading -----------------------------------------------------------------------------------


async def test_reading_a_vehicles_a_citizens_and_one_fine(mesh):
    response = await get(mesh, f"/vehicles/{quote(DEMO_PLATE)}/fines")
    assert response.status_code == 200, response.text
    by_vehicle = response.json()
    assert [(f["offence"], f["status"], f["source"]) for f in by_vehicle] == [
        ("Running a red light", "unpaid", "camera"),
        ("Parking in a bus lane", "unpaid", "camera"),
    ]
    assert by_vehicle[0]["occurred_at"].endswith("T00:41:00Z")  # 08:41 in Guangzhou, the same on both databases
    assert await citizen_fines(mesh, CAR_OWNER) == by_vehicle
    [overdue] = await citizen_fines(mesh, DEFAULTER)
    assert (overdue["plate"], overdue["status"], overdue["source"], overdue["due_date"]) == (
        DEFAULTER_PLATE,
        "overdue",
        "parking-warden",
        "2026-10-15",
    )
    one = await get(mesh, f"/fines/{overdue['id']}")
    assert one.status_code == 200 and one.json() == overdue
    # a subject the department does not know has no fines; it is not told apart from one without a car
    assert (await get(mesh, "/citizens/nobody/fines")).json() == []
    assert_problem(await get(mesh, f"/fines/{overdue['id']}/receipt"), 404, "receipt-not-found")
    assert_problem(await get(mesh, "/fines/999999"), 404, "fine-not-found")
    assert_problem(await get(mesh, "/fines/999999/receipt"), 404, "fine-not-found")
    assert_problem(await get(mesh, "/vehicles/NOPE-1/fines"), 404, "vehicle-not-found")
    assert_problem(await get(mesh, "/fines/not-a-number"), 422, "invalid-request")


async def test_reading_needs_a_token_with_fines_read_held_by_the_gateway(mesh):
    paths = [f"/vehicles/{quote(DEMO_PLATE)}/fines", "/citizens/someone/fines", "/fines/1", "/fines/1/receipt"]
    for path in paths:
        assert_problem(await get(mesh, path, headers={}), 401, "unauthenticated")
        assert_problem(await get(mesh, path, headers={"Authorization": "Bearer not-a-token"}), 401, "invalid-token")
        assert_problem(await get(mesh, path, headers=bearer(mesh, scope="fines:pay")), 403, "forbidden-caller")
        # a department that is not listed for fines:read in kernel/access.py, even with the scope
        assert_problem(
            await get(mesh, path, headers=bearer(mesh, scope="fines:read", client="appointments")),
            403,
            "forbidden-caller",
        )


# --- paying ------------------------------------------------------------------------------------


async def test_paying_a_fine_gives_a_receipt_once_whatever_is_repeated(mesh):
    payer = await subject_of(mesh, CAR_OWNER)
    fine, other = await citizen_fines(mesh, CAR_OWNER)
    statement = confirmation(mesh, fine, payer=payer, key="k-1")

    first = await post_payment(mesh, fine["id"], {"confirmation": statement}, key="k-1")
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["fine_id"] == fine["id"] and receipt["amount_cents"] == 20000 and receipt["currency"] == "CNY"
    assert set(receipt) >= {"receipt_id", "paid_at", "payment_id"}

    again = await post_payment(mesh, fine["id"], {"confirmation": statement}, key="k-1")
    assert again.status_code == 200 and again.json() == receipt
    # the wallet re-signing the same payment (a new signature over the same claims) is the same request
    resigned = confirmation(mesh, fine, payer=payer, key="k-1", payment_id=receipt["payment_id"])
    assert (await post_payment(mesh, fine["id"], {"confirmation": resigned}, key="k-1")).json() == receipt
    assert (await get(mesh, f"/fines/{fine['id']}/receipt")).json() == receipt
    paid = (await get(mesh, f"/fines/{fine['id']}")).json()
    assert paid["status"] == "paid" and paid["paid_at"] == receipt["paid_at"]

    # the same key with another payload, for this fine or another: refused, nothing written
    other_payload = confirmation(mesh, fine, payer=payer, key="k-1")
    assert_problem(
        await post_payment(mesh, fine["id"], {"confirmation": other_payload}, key="k-1"), 409, "idempotency-key-reused"
    )
    for_other_fine = confirmation(mesh, other, payer=payer, key="k-1")
    assert_problem(
        await post_payment(mesh, other["id"], {"confirmation": for_other_fine}, key="k-1"),
        409,
        "idempotency-key-reused",
    )
    # paying the paid fine again under a new key
    second_time = confirmation(mesh, fine, payer=payer, key="k-2")
    assert_problem(
        await post_payment(mesh, fine["id"], {"confirmation": second_time}, key="k-2"), 409, "fine-already-paid"
    )
    assert len(payment_rows(mesh, fine["id"])) == 1
    assert payment_rows(mesh, other["id"]) == []
    assert [f["status"] for f in await citizen_fines(mesh, CAR_OWNER)] == ["paid", "unpaid"]


async def test_every_bad_payment_request_is_refused_and_writes_nothing(mesh):
    payer = await subject_of(mesh, CAR_OWNER)
    fine = (await citizen_fines(mesh, CAR_OWNER))[0]
    good = {"confirmation": confirmation(mesh, fine, payer=payer, key="k")}
    forger = ECKey.generate_key("P-256", private=True)

    cases = [
        # (fine id, body, Idempotency-Key, headers, status, kind)
        (fine["id"], good, None, None, 400, "idempotency-key-missing"),
        (fine["id"], good, "", None, 400, "invalid-idempotency-key"),
        (fine["id"], good, "x" * 201, None, 400, "invalid-idempotency-key"),
        (fine["id"], {}, "k", None, 422, "invalid-request"),
        (fine["id"], {"confirmation": 42}, "k", None, 422, "invalid-request"),
        (fine["id"], {"confirmation": "not-a-jws"}, "k", None, 422, "invalid-payment-confirmation"),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="k", key_to_sign=forger)},
            "k",
            None,
            422,
            "invalid-payment-confirmation",
        ),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="k", typ="receipt+jwt")},
            "k",
            None,
            422,
            "invalid-payment-confirmation",
        ),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="k", amount_cents="20000")},
            "k",
            None,
            422,
            "invalid-payment-confirmation",
        ),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="k", amount_cents=100)},
            "k",
            None,
            422,
            "payment-mismatch",
        ),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="k", payee="prescriptions")},
            "k",
            None,
            422,
            "payment-mismatch",
        ),
        (
            fine["id"],
            {"confirmation": confirmation(mesh, fine, payer=payer, key="another")},
            "k",
            None,
            422,
            "payment-mismatch",
        ),
        (999999, good, "k", None, 404, "fine-not-found"),
        (fine["id"], good, "k", {}, 401, "unauthenticated"),
        (fine["id"], good, "k", bearer(mesh, scope="fines:read"), 403, "forbidden-caller"),
        (fine["id"], {"confirmation": "x" * 70_000}, "k", None, 413, None),
    ]
    for fine_id, body, key, headers, status, kind in cases:
        response = await post_payment(mesh, fine_id, body, key=key, headers=headers)
        assert_problem(response, status, kind)
    assert payment_rows(mesh, fine["id"]) == []
    assert (await get(mesh, f"/fines/{fine['id']}")).json()["status"] == "unpaid"
    # and the good request still goes through afterwards
    assert (await post_payment(mesh, fine["id"], good, key="k")).status_code == 201


async def test_who_may_pay_a_fine_is_the_regimes_rule(mesh):
    """Platform: the payer the wallet names must own the car. Rights: the wallet cannot name the
    owner's pseudonym, so a fine is paid by its reference, whoever the (opaque) payer is."""
    fine = (await citizen_fines(mesh, CAR_OWNER))[0]
    stranger = await subject_of(mesh, DEFAULTER)
    response = await post_payment(
        mesh, fine["id"], {"confirmation": confirmation(mesh, fine, payer=stranger, key="k")}, key="k"
    )
    if mesh.regime is Regime.PLATFORM:
        assert_problem(response, 422, "payer-not-owner")
        # the payer is checked first: a stranger's wrong amount does not learn it is wrong
        wrong_amount = confirmation(mesh, fine, payer=stranger, key="k2", amount_cents=100)
        assert_problem(
            await post_payment(mesh, fine["id"], {"confirmation": wrong_amount}, key="k2"), 422, "payer-not-owner"
        )
        assert payment_rows(mesh, fine["id"]) == []
    else:
        assert response.status_code == 201, response.text
        [payment] = payment_rows(mesh, fine["id"])
        assert payment.payer_ref == stranger


async def test_fifty_concurrent_payments_with_one_key_charge_once(mesh):
    """Paying Chen Jun's overdue fine (on the platform, its settlement is queued in the same
    transaction): one payment row, one receipt in all fifty answers. Then fifty payments of
    another fine under fifty keys: one goes through, the others are told it is paid."""
    payer = await subject_of(mesh, DEFAULTER)
    [fine] = await citizen_fines(mesh, DEFAULTER)
    body = {"confirmation": confirmation(mesh, fine, payer=payer, key="one-key")}
    headers = bearer(mesh)
    async with mesh.client("fines") as client:
        answers = await asyncio.gather(
            *(post_payment(mesh, fine["id"], body, key="one-key", headers=headers, client=client) for _ in range(50))
        )
    assert Counter(answer.status_code for answer in answers) == {201: 1, 200: 49}, [a.text for a in answers][:3]
    assert len({answer.text for answer in answers}) == 1
    assert len(payment_rows(mesh, fine["id"])) == 1

    owner = await subject_of(mesh, CAR_OWNER)
    second = (await citizen_fines(mesh, CAR_OWNER))[1]
    bodies = [
        (f"key-{n}", {"confirmation": confirmation(mesh, second, payer=owner, key=f"key-{n}")}) for n in range(50)
    ]
    async with mesh.client("fines") as client:
        answers = await asyncio.gather(
            *(post_payment(mesh, second["id"], body, key=key, headers=headers, client=client) for key, body in bodies)
        )
    assert Counter(answer.status_code for answer in answers) == {201: 1, 409: 49}
    assert {answer.json()["type"] for answer in answers if answer.status_code == 409} == {
        "urn:citygate:problem:fine-already-paid"
    }
    assert len(payment_rows(mesh, second["id"])) == 1
