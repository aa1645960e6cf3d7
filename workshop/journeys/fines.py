"""Journey 1, pay a traffic fine, told step by step (docs/journeys.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from identity.personas import by_handle
from kernel.regime import Regime
from workshop.journeys.common import device_token, log_in, through_courier, what_the_super_app_kept, yuan
from workshop.narration import Step, StepFailed, Told, expect

CAR_OWNER = by_handle("li-wei")
PERSONA = CAR_OWNER.handle


def pay_first_unpaid_fine(state_key: str = "fines") -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        fine = next((fine for fine in state[state_key] if fine["status"] == "unpaid"), None)
        if fine is None:
            raise StepFailed("no unpaid fine is left: earlier walkthroughs paid them; start citygate up with a "
                             "fresh --data-dir for new demo data")
        state["fine"], state["key"] = fine, f"walkthrough-{uuid.uuid4()}"
        before = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        payment = expect(await _pay(state, fine), 201)
        after = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        state["payment"] = payment
        return [Told("super-app", f"learned payee {payment['payee']}, reference {payment['reference']}, "
                                  f"{yuan(payment['amount_cents'])}; wallet {yuan(before)} → {yuan(after)}"),
                Told("traffic police", f"took the payment; receipt {payment['department_receipt']}")]
    return Step("he pays the first unpaid fine from the wallet", run)


def pay_again() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        before = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        again = expect(await _pay(state, state["fine"]), 200)
        after = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        if again["id"] != state["payment"]["id"] or after != before:
            raise StepFailed(f"paid twice: {again['id']} vs {state['payment']['id']}, wallet {before} → {after}")
        return [Told("super-app", f"the same payment {again['id']} (Idempotency-Key {state['key']}); "
                                  "nothing charged again")]
    return Step("his phone sends the payment again (a retry after a lost answer)", run)


async def _pay(state: dict[str, Any], fine: dict) -> httpx.Response:
    return await state["browser"].post("/wallet/payments", headers={"Idempotency-Key": state["key"]}, json={
        "payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]})


def platform_lookup() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        fines = expect(await state["browser"].get("/city-services/fines"), 200)
        state["fines"] = fines
        return [Told("traffic police", f"was asked by the super-app for the fines of resident {state['profile']['sub']}"),
                Told("super-app", "received " + "; ".join(
                    f"{fine['plate']} {fine['offence']} at {fine['place']}, {yuan(fine['amount_cents'])} "
                    f"({fine['status']})" for fine in fines))]
    return Step("he opens Traffic fines: the super-app asks the traffic police for him", run)


def platform_receipt() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        receipt = expect(await state["browser"].get(f"/city-services/fines/{state['fine']['id']}/receipt"), 200)
        return [Told("super-app", f"fetched and kept receipt {receipt['receipt_id']}")]
    return Step("he opens the receipt", run)


def courier_lookup() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, sent, received = await through_courier(state, "fines", "GET", "/me/fines")
        if answer.status != 200:
            raise StepFailed(f"the traffic police answered {answer.status}: {answer.body}")
        state["fines"] = answer.body
        return [Told("super-app", f"relayed a sealed envelope of {sent} bytes and the sealed answer of {received} "
                                  "bytes; it could open neither"),
                Told("traffic police", f"answered his app: {len(answer.body)} fines, sealed to a key only his app holds")]
    return Step("his app asks the traffic police for his fines, through the super-app's blind courier", run)


def courier_check_paid() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, _, _ = await through_courier(state, "fines", "GET", f"/me/fines/{state['fine']['id']}")
        if answer.status != 200 or answer.body.get("status") != "paid":
            raise StepFailed(f"the fine is not paid at the traffic police: {answer.status} {answer.body}")
        return [Told("traffic police", f"fine {state['fine']['id']} is paid (told to his app only)")]
    return Step("his app checks the fine at the traffic police", run)


def steps(regime: Regime) -> list[Step]:
    if regime is Regime.PLATFORM:
        return [log_in(PERSONA), platform_lookup(), pay_first_unpaid_fine(), pay_again(), platform_receipt(),
                what_the_super_app_kept()]
    return [log_in(PERSONA), device_token("fines"), courier_lookup(), pay_first_unpaid_fine(), pay_again(),
            courier_check_paid(), what_the_super_app_kept()]
