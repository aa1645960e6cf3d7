"""Steps several journeys share: logging in to the super-app, the device's own token, the blind
courier, paying a bill from the wallet, and what the super-app kept."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from identity.totp import STEP_SECONDS, totp
from kernel.courier import open_response, seal_request
from kernel.personas import Persona
from workshop.citizen_app import CitizenLoginError, citizen_token
from workshop.narration import NOT_ASKED, WAITED_SECONDS, Step, StepFailed, Told, expect
from workshop.super_app import log_in_to_super_app


def yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def connection(state: dict[str, Any], service: str | None = None) -> httpx.AsyncClient:
    """A client on the journey's network, to ``service`` (or to full URLs): the real network, or the
    in-process one a test or the population runner gives as ``state["transport"]``."""
    base_url = state["urls"][service] if service else ""
    return httpx.AsyncClient(base_url=base_url, timeout=15, transport=state.get("transport"))


# --- the steps both regimes share --------------------------------------------------------------------


def log_in(citizen: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        agreed = await log_in_to_super_app(
            state["browser"], state["urls"]["gateway"], username=citizen.handle, password=citizen.password
        )
        profile = state["profile"] = expect(await state["browser"].get("/me/profile"), 200)
        shown = ", ".join(f"{name}={value}" for name, value in profile.items() if name not in ("amr", "auth_time"))
        told = [Told("identity", "checked the password")]
        if agreed:
            told.append(
                Told(
                    "super-app",
                    f"showed its user agreement (version {agreed}: it keeps every journey and "
                    "shares it with departments as Internet Plus asks); he tapped “Agree” — "
                    "the only consent the platform asks",
                )
            )
        return [*told, Told("super-app", f"keeps {shown}")]

    return Step(f"{citizen.handle} logs in to the super-app", run, asks_citizen=True)


def what_the_super_app_kept() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        history = expect(await state["browser"].get("/me/history"), 200)
        wallet = expect(await state["browser"].get("/wallet"), 200)
        told = [
            Told(
                "super-app",
                f"{len(history)} journey events in its history"
                + (": " + "; ".join(event["event"] for event in history) if history else ""),
            )
        ]
        told.append(Told("super-app", f"{len(wallet['payments'])} wallet payments (payee, reference, amount)"))
        return told

    return Step("what the super-app kept", run)


def device_token(service: str, citizen: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with connection(state, "identity") as identity:
            tokens = await citizen_token(
                identity, username=citizen.handle, password=citizen.password, resource_service=service
            )
        state["tokens"][service] = tokens.access_token
        return [
            Told(
                "identity",
                f"issued his app a token for the {service} service only, naming him by that sector's pseudonym",
            ),
            Told("super-app", "nothing (the app logged in itself)"),
        ]

    return Step(f"his app logs in to the {service} service itself", run, asks_citizen=True)


async def through_courier(state: dict[str, Any], service: str, method: str, path: str, body=None):
    async with connection(state) as plain:
        jwks = expect(await plain.get(state["urls"][service] + "/.well-known/jwks.json"), 200)
    envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=state["tokens"][service])
    relayed = expect(await state["browser"].post(f"/courier/{service}", json={"envelope": envelope}), 200)
    answer = open_response(relayed["envelope"], reply_key)
    return answer, len(envelope), len(relayed["envelope"])


# --- paying a department's bill from the wallet ---------------------------------------------------------

Bill = Callable[[dict[str, Any]], dict]  # from the journey's state: {"payee", "reference", "amount_cents"}


async def wallet_pay(browser: httpx.AsyncClient, bill: dict, key: str) -> httpx.Response:
    return await browser.post("/wallet/payments", headers={"Idempotency-Key": key}, json=bill)


def pay_from_wallet(title: str, department: str, bill: Bill) -> Step:
    """Pay ``bill(state)`` once, with a fresh Idempotency-Key kept for ``pay_again``."""

    async def run(state: dict[str, Any]) -> list[Told]:
        state["bill"], state["key"] = bill(state), f"walkthrough-{uuid.uuid4()}"
        before = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        payment = state["payment"] = expect(await wallet_pay(state["browser"], state["bill"], state["key"]), 201)
        after = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        return [
            Told(
                "super-app",
                f"learned payee {payment['payee']}, reference {payment['reference']}, "
                f"{yuan(payment['amount_cents'])}; wallet {yuan(before)} → {yuan(after)}",
            ),
            Told(department, f"took the payment; receipt {payment['department_receipt']}"),
        ]

    return Step(title, run)


def pay_again(title: str) -> Step:
    """The same payment sent again (the phone's retry after a lost answer): never charged twice."""

    async def run(state: dict[str, Any]) -> list[Told]:
        before = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        again = expect(await wallet_pay(state["browser"], state["bill"], state["key"]), 200)
        after = expect(await state["browser"].get("/wallet"), 200)["balance_cents"]
        if again["id"] != state["payment"]["id"] or after != before:
            raise StepFailed(f"paid twice: {again['id']} vs {state['payment']['id']}, wallet {before} → {after}")
        return [
            Told("super-app", f"the same payment {again['id']} (Idempotency-Key {state['key']}); nothing charged again")
        ]

    return Step(title, run)


async def device_tokens(state: dict[str, Any], persona: Persona, services: tuple[str, ...]) -> dict[str, str]:
    """The persona's app logs in once, with the second factor a sector may ask for (the demo
    authenticator's code); one token per service. An app that still holds a token for each of
    ``services`` from an earlier journey (``state["tokens"]``: the population run keeps a resident's
    phone between journeys) uses those, and the citizen is asked nothing (``NOT_ASKED``)."""
    if all(service in state["tokens"] for service in services):
        state[NOT_ASKED] = True
        return {service: state["tokens"][service] for service in services}

    async def once() -> dict[str, str]:
        tokens = {}
        async with connection(state, "identity") as identity:
            for service in services:
                tokens[service] = (
                    await citizen_token(
                        identity,
                        username=persona.handle,
                        password=persona.password,
                        resource_service=service,
                        totp_code=lambda: totp(persona.totp_secret, time.time()),
                    )
                ).access_token
        return tokens

    try:
        return await once()
    except CitizenLoginError as error:
        if "one-time code" not in str(error):
            raise StepFailed(f"the app could not log in: {error}") from error
    # each one-time code is accepted once: a journey a moment ago used this one, so wait for the next
    pause = STEP_SECONDS - time.time() % STEP_SECONDS + 1
    await asyncio.sleep(pause)
    state[WAITED_SECONDS] = state.get(WAITED_SECONDS, 0.0) + pause
    try:
        return await once()
    except CitizenLoginError as error:
        raise StepFailed(f"the app could not log in: {error}") from error
