"""Steps several journeys share: logging in to the super-app, the device's own token, the blind
courier, and what the super-app kept."""

from __future__ import annotations

from typing import Any

import httpx

from identity.personas import DEMO_PASSWORD
from kernel.courier import open_response, seal_request
from workshop.citizen_app import citizen_token
from workshop.narration import Step, Told, expect
from workshop.super_app import log_in_to_super_app


def yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


# --- the steps both regimes share --------------------------------------------------------------------

def log_in(handle: str) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        await log_in_to_super_app(state["browser"], state["urls"]["gateway"], username=handle, password=DEMO_PASSWORD)
        profile = state["profile"] = expect(await state["browser"].get("/me/profile"), 200)
        shown = ", ".join(f"{name}={value}" for name, value in profile.items() if name not in ("amr", "auth_time"))
        return [Told("identity", "checked the password"), Told("super-app", f"keeps {shown}")]
    return Step(f"{handle} logs in to the super-app", run)


def what_the_super_app_kept() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        history = expect(await state["browser"].get("/me/history"), 200)
        wallet = expect(await state["browser"].get("/wallet"), 200)
        told = [Told("super-app", f"{len(history)} journey events in its history"
                                  + (": " + "; ".join(event["event"] for event in history) if history else ""))]
        told.append(Told("super-app", f"{len(wallet['payments'])} wallet payments (payee, reference, amount)"))
        return told
    return Step("what the super-app kept", run)


def device_token(service: str) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        async with httpx.AsyncClient(base_url=state["urls"]["identity"], timeout=15) as identity:
            tokens = await citizen_token(identity, username=state["handle"], password=DEMO_PASSWORD,
                                         resource_service=service)
        state["tokens"][service] = tokens.access_token
        return [Told("identity", f"issued his app a token for the {service} service only, naming him by that "
                                 "sector's pseudonym"), Told("super-app", "nothing (the app logged in itself)")]
    return Step(f"his app logs in to the {service} service itself", run)


async def through_courier(state: dict[str, Any], service: str, method: str, path: str, body=None):
    async with httpx.AsyncClient(timeout=15) as plain:
        jwks = expect(await plain.get(state["urls"][service] + "/.well-known/jwks.json"), 200)
    envelope, reply_key = seal_request(jwks, method=method, path=path, body=body, token=state["tokens"][service])
    relayed = expect(await state["browser"].post(f"/courier/{service}", json={"envelope": envelope}), 200)
    answer = open_response(relayed["envelope"], reply_key)
    return answer, len(envelope), len(relayed["envelope"])
