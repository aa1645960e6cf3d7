"""Journey 1, pay a traffic fine, told step by step (docs/journeys.md)."""

from __future__ import annotations

from typing import Any

from kernel.personas import by_handle
from kernel.regime import Regime
from workshop.journeys.cast import Cast
from workshop.journeys.common import (
    device_token,
    log_in,
    pay_again,
    pay_from_wallet,
    through_courier,
    what_the_super_app_kept,
    yuan,
)
from workshop.narration import Step, StepFailed, Told, expect

DEFAULT_CAST = Cast(by_handle("li-wei"))
RETRY = "his phone sends the payment again (a retry after a lost answer)"
PERSONA = DEFAULT_CAST.citizen.handle


def first_unpaid_fine(state: dict[str, Any]) -> dict:
    fine = next((fine for fine in state["fines"] if fine["status"] != "paid"), None)  # unpaid or overdue
    if fine is None:
        raise StepFailed(
            "no unpaid fine is left: earlier walkthroughs paid them; run `citygate reset` "
            "for the seeded demo data again"
        )
    state["fine"] = fine
    return {"payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]}


def pay_the_fine() -> Step:
    return pay_from_wallet("he pays the first unpaid fine from the wallet", "traffic police", first_unpaid_fine)


def platform_lookup() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        fines = expect(await state["browser"].get("/city-services/fines"), 200)
        state["fines"] = fines
        return [
            Told("traffic police", f"was asked by the super-app for the fines of resident {state['profile']['sub']}"),
            Told(
                "super-app",
                "received "
                + "; ".join(
                    f"{fine['plate']} {fine['offence']} at {fine['place']}, {yuan(fine['amount_cents'])} "
                    f"({fine['status']})"
                    for fine in fines
                ),
            ),
        ]

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
        return [
            Told(
                "super-app",
                f"relayed a sealed envelope of {sent} bytes and the sealed answer of {received} "
                "bytes; it could open neither",
            ),
            Told("traffic police", f"answered his app: {len(answer.body)} fines, sealed to a key only his app holds"),
        ]

    return Step("his app asks the traffic police for his fines, through the super-app's blind courier", run)


def courier_check_paid() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, _, _ = await through_courier(state, "fines", "GET", f"/me/fines/{state['fine']['id']}")
        if answer.status != 200 or answer.body.get("status") != "paid":
            raise StepFailed(f"the fine is not paid at the traffic police: {answer.status} {answer.body}")
        return [Told("traffic police", f"fine {state['fine']['id']} is paid (told to his app only)")]

    return Step("his app checks the fine at the traffic police", run)


def steps(regime: Regime, cast: Cast = DEFAULT_CAST) -> list[Step]:
    if regime is Regime.PLATFORM:
        return [
            log_in(cast.citizen),
            platform_lookup(),
            pay_the_fine(),
            pay_again(RETRY),
            platform_receipt(),
            what_the_super_app_kept(),
        ]
    return [
        log_in(cast.citizen),
        device_token("fines", cast.citizen),
        courier_lookup(),
        pay_the_fine(),
        pay_again(RETRY),
        courier_check_paid(),
        what_the_super_app_kept(),
    ]
