"""Journey 2, book a divorce appointment, told step by step (docs/journeys.md).

Two people act: Zhang Min books (the walkthrough's persona, ``state["browser"]``), Chen Jun confirms on
his own phone (a second super-app session, its cookies kept in the shared state). Platform: the
super-app books for her; the bureau asks the credit platform about both spouses and refuses while
Chen Jun's overdue fine blacklists him; he pays it, the settlement reaches the blacklist, she books,
he confirms, and the super-app keeps it all. Rights: each spouse's app books and confirms through the
blind courier; nobody asks about his fine, and the super-app keeps nothing.

A couple has one open divorce booking at a time, so a second walkthrough against the same
``citygate up`` stops with a clear message (run ``citygate reset`` first: docs/journeys.md, "Replaying").
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from kernel.client import json_or_empty
from kernel.personas import Persona, by_handle
from kernel.problems import kind_of
from kernel.regime import Regime
from workshop.citizen_app import citizen_token
from workshop.journeys.cast import Cast
from workshop.journeys.common import connection, log_in, through_courier, what_the_super_app_kept, yuan
from workshop.narration import Step, StepFailed, Told, expect
from workshop.super_app import log_in_to_super_app

DEFAULT_CAST = Cast(by_handle("zhang-min"), partner=by_handle("chen-jun"))
PERSONA = DEFAULT_CAST.citizen.handle
KIND = "divorce"
BOOKINGS = "/city-services/appointments/bookings"
SETTLEMENT_WAIT_SECONDS = 20  # how long she retries while the settlement travels to the blacklist
EARLIER_RUN = (
    "an open divorce booking of this couple exists from an earlier walkthrough (one at a time); "
    "run `citygate reset` for the seeded demo data again"
)


@asynccontextmanager
async def his_phone(state: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """Chen Jun's own super-app session: a second browser whose cookies the shared state keeps."""
    async with httpx.AsyncClient(
        base_url=state["urls"]["gateway"],
        timeout=15,
        cookies=state.get("his_cookies"),
        transport=state.get("transport"),
    ) as browser:
        yield browser
        state["his_cookies"] = browser.cookies


def _reasons(problem: dict) -> str:
    return "; ".join(
        f"{reason.get('kind')} reported by {reason.get('source')} (reference {reason.get('reference')})"
        for reason in problem.get("reasons", [])
    )


def problem_kind(problem: dict[str, Any]) -> str | None:
    return kind_of(problem.get("type"))


# --- both regimes -----------------------------------------------------------------------------------------


def he_logs_in(partner: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with his_phone(state) as phone:
            await log_in_to_super_app(
                phone, state["urls"]["gateway"], username=partner.handle, password=partner.password
            )
            profile = expect(await phone.get("/me/profile"), 200)
        return [
            Told("identity", "checked his password"),
            Told("super-app", f"opened a second session, for {profile.get('name')} (sub={profile.get('sub')})"),
        ]

    return Step(f"{partner.handle} logs in to the super-app on his own phone", run, asks_citizen=True)


def free_slots(regime: Regime) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        slots = expect(await state["browser"].get("/city-services/appointments/slots", params={"type": KIND}), 200)
        if not slots:
            raise StepFailed("the bureau offers no free divorce slot")
        slot = state["slot"] = slots[0]
        kept = (
            "kept that she looked at divorce slots"
            if regime is Regime.PLATFORM
            else "saw which type was asked for in passing, kept nothing"
        )
        return [
            Told(
                "civil affairs bureau",
                f"was asked by the super-app (its own service token, nobody named) for "
                f"free {KIND} slots: {len(slots)}, the first {slot['starts_at']} at "
                f"{slot['office_id']} (free places: {slot['free']})",
            ),
            Told("super-app", kept),
        ]

    return Step("she opens Marriage and divorce appointments: the free divorce slots", run)


# --- platform ------------------------------------------------------------------------------------------------


async def book(state: dict[str, Any]) -> httpx.Response:
    return await state["browser"].post(BOOKINGS, json={"slot_id": state["slot"]["id"], "type": KIND})


def platform_refused() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        response = await book(state)
        body = json_or_empty(response)
        if response.status_code == 409 and problem_kind(body) == "already-booked":
            raise StepFailed(EARLIER_RUN)
        if response.status_code == 201:
            raise StepFailed(
                "the bureau booked at once: the credit platform does not restrict Chen Jun (an earlier "
                "walkthrough paid his fine, or the traffic police have not reported it yet); run "
                "`citygate reset`"
            )
        if response.status_code != 403 or problem_kind(body) != "joint-punishment":
            expect(response, 403)  # fails, saying what came instead
        return [
            Told(
                "civil affairs bureau",
                f"asked the credit platform about resident {state['profile']['sub']} "
                f"and, from its marriage register, her husband — and refused: "
                f"{body.get('detail')}",
            ),
            Told(
                "credit platform",
                f"restricted the {' and the '.join(body.get('restricted_parties', []))} "
                "(her husband): "
                f"{_reasons(body)}",
            ),
            Told("super-app", "passed the refusal on to her and kept it: a divorce, and why it was refused"),
        ]

    return Step("she books the divorce: the super-app books for her", run)


def platform_he_pays() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with his_phone(state) as phone:
            fines = expect(await phone.get("/city-services/fines"), 200)
            fine = next((fine for fine in fines if fine["status"] != "paid"), None)
            if fine is None:
                raise StepFailed(
                    "Chen Jun has no unpaid fine left: an earlier walkthrough paid it; run "
                    "`citygate reset` for the seeded demo data again"
                )
            payment = expect(
                await phone.post(
                    "/wallet/payments",
                    headers={"Idempotency-Key": f"walkthrough-{uuid.uuid4()}"},
                    json={"payee": "fines", "reference": str(fine["id"]), "amount_cents": fine["amount_cents"]},
                ),
                201,
            )
        return [
            Told(
                "traffic police",
                f"took {yuan(payment['amount_cents'])} for {fine['offence']} "
                f"({fine['status']} since {fine['due_date']}); reports the settlement to "
                "the credit platform",
            ),
            Told("super-app", f"learned and kept his fines and the payment (receipt {payment['department_receipt']})"),
        ]

    return Step("he pays his overdue parking fine from the wallet (journey 1)", run)


def platform_booked() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        started, refusals = time.monotonic(), 0
        while True:
            response = await book(state)
            if (
                response.status_code != 403
                or problem_kind(json_or_empty(response)) != "joint-punishment"
                or time.monotonic() - started > SETTLEMENT_WAIT_SECONDS
            ):
                break
            refusals += 1  # the settlement is still on its way to the blacklist
            await asyncio.sleep(1)
        booking = state["booking"] = expect(response, 201)
        waited = (
            f"after {refusals} more refusals ({time.monotonic() - started:.0f} s: the settlement's lag)"
            if refusals
            else "at once"
        )
        return [
            Told("credit platform", f"no longer restricts either spouse — {waited}"),
            Told(
                "civil affairs bureau",
                f"booked {booking['id']} for {booking['starts_at']}, {booking['status']} "
                f"until her husband confirms (by {booking['confirm_by']})",
            ),
            Told("super-app", f"kept: resident {state['profile']['sub']} booked a {booking['type']} appointment"),
        ]

    return Step("she books the divorce again", run)


def platform_he_confirms() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with his_phone(state) as phone:
            waiting = [b for b in expect(await phone.get(BOOKINGS), 200) if b["awaiting_your_confirmation"]]
            if not waiting:
                raise StepFailed("no booking waits for his confirmation")
            confirmed = expect(await phone.post(f"{BOOKINGS}/{waiting[0]['id']}/confirmations", json={}), 200)
        return [
            Told(
                "civil affairs bureau",
                f"{waiting[0]['type']} booking {confirmed['id']}: {confirmed['status']} "
                "(he is the spouse its register names)",
            ),
            Told("super-app", "kept his bookings and that he confirmed the divorce, under his resident ID"),
        ]

    return Step("he finds the booking waiting for him and confirms it", run, asks_citizen=True)


# --- rights ----------------------------------------------------------------------------------------------------


def devices_log_in(cast: Cast) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        for person, key in ((cast.citizen, "tokens"), (cast.needs_partner(), "his_tokens")):
            async with connection(state, "identity") as identity:  # own phone
                tokens = await citizen_token(
                    identity, username=person.handle, password=person.password, resource_service="appointments"
                )
            state.setdefault(key, {})["appointments"] = tokens.access_token
        return [
            Told(
                "identity",
                "issued each spouse's app a token for the civil affairs bureau only, naming each by "
                "the civil-registry sector's pseudonym",
            ),
            Told("super-app", "nothing (the apps logged in themselves)"),
        ]

    return Step("each spouse's app logs in to the civil affairs bureau itself", run, asks_citizen=True)


def rights_booked() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        answer, sent, received = await through_courier(
            state, "appointments", "POST", "/me/bookings", {"slot_id": state["slot"]["id"], "type": KIND}
        )
        if answer.status == 409 and problem_kind(answer.body) == "already-booked":
            raise StepFailed(EARLIER_RUN)
        if answer.status != 201:
            raise StepFailed(f"the bureau answered {answer.status}: {answer.body}")
        booking = state["booking"] = answer.body
        return [
            Told(
                "super-app",
                f"relayed a sealed envelope of {sent} bytes and the sealed answer of {received} "
                "bytes; it could open neither",
            ),
            Told(
                "civil affairs bureau",
                f"booked {booking['id']} for her pseudonym, her husband's from its "
                f"register, {booking['status']} until he confirms; asked nobody about "
                "his fine (there is no credit platform in this regime)",
            ),
        ]

    return Step("her app books the divorce through the super-app's blind courier", run)


def rights_he_confirms() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with his_phone(state) as phone:
            his = {**state, "browser": phone, "tokens": state["his_tokens"]}
            mine, _, _ = await through_courier(his, "appointments", "GET", "/me/bookings")
            waiting = [b for b in mine.body if b.get("awaiting_your_confirmation")] if mine.status == 200 else []
            if not waiting:
                raise StepFailed(f"no booking waits for his confirmation ({mine.status}: {mine.body})")
            confirmed, _, _ = await through_courier(
                his, "appointments", "POST", f"/me/bookings/{waiting[0]['id']}/confirmations", {}
            )
        if confirmed.status != 200:
            raise StepFailed(f"the bureau answered {confirmed.status}: {confirmed.body}")
        return [
            Told(
                "civil affairs bureau",
                f"told his app only: booking {confirmed.body['id']} is {confirmed.body['status']}",
            ),
            Told("super-app", "relayed two more envelopes for his session; read nothing, kept nothing"),
        ]

    return Step(
        "his app finds the booking waiting for him and confirms it, through the courier", run, asks_citizen=True
    )


def steps(regime: Regime, cast: Cast = DEFAULT_CAST) -> list[Step]:
    partner = cast.needs_partner()
    if regime is Regime.PLATFORM:
        return [
            log_in(cast.citizen),
            he_logs_in(partner),
            free_slots(regime),
            platform_refused(),
            platform_he_pays(),
            platform_booked(),
            platform_he_confirms(),
            what_the_super_app_kept(),
        ]
    return [
        log_in(cast.citizen),
        he_logs_in(partner),
        devices_log_in(cast),
        free_slots(regime),
        rights_booked(),
        rights_he_confirms(),
        what_the_super_app_kept(),
    ]
