"""Journey 4, show the digital ID card, told step by step (docs/journeys.md).

A bar checks that Li Wei is over 18. On the platform the super-app holds his card and shows it
whole; in the rights regime his own app holds it and proves "over 18" and nothing else, and the
super-app takes no part. The verifier is the identity service's ``POST /credentials/verify``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import httpx
from joserfc.jwk import ECKey

from kernel.personas import Persona, by_handle
from kernel.problems import kind_of
from kernel.regime import Regime
from kernel.resident_id import CHINA_STANDARD_TIME
from kernel.sd_jwt import present
from workshop.citizen_app import citizen_token
from workshop.journeys.cast import Cast
from workshop.journeys.common import connection, log_in, what_the_super_app_kept
from workshop.narration import Step, StepFailed, Told, expect

DEFAULT_CAST = Cast(by_handle("li-wei"))
PERSONA = DEFAULT_CAST.citizen.handle
ADULT_AGE = 18
VERIFIER = "https://bar.example"  # the bar at the door: the audience the presentation is signed for


async def _verify(state: dict[str, Any], presentation: str, nonce: str) -> httpx.Response:
    async with connection(state, "identity") as identity:
        return await identity.post(
            "/credentials/verify", json={"presentation": presentation, "audience": VERIFIER, "nonce": nonce}
        )


def _is_adult(citizen: Persona) -> bool:
    today = datetime.now(CHINA_STANDARD_TIME).date()
    born = citizen.birth_date
    return (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= ADULT_AGE


def _shown(disclosed: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in disclosed.items())


def the_bar_asks() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        state["nonce"] = secrets.token_urlsafe(16)
        return [Told("bar", f"asks: prove you are over 18 (audience {VERIFIER}, nonce {state['nonce']})")]

    return Step("at the door of a bar: “are you over 18?”", run)


def platform_presents() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        shown = expect(
            await state["browser"].post(
                "/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": state["nonce"]}
            ),
            201,
        )
        state["presentation"] = shown["presentation"]
        return [
            Told(
                "super-app",
                "fetched his card with the identity token it kept from his login, bound it to "
                "a key it holds for him, and signed the presentation itself",
            ),
            Told("super-app", f"history: showed his ID card to {VERIFIER}"),
        ]

    return Step("he taps “show ID card” in the super-app", run)


def device_card(citizen: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        key = state["device_key"] = ECKey.generate_key("P-256", private=True)
        async with connection(state, "identity") as identity:
            token = (
                await citizen_token(
                    identity, username=citizen.handle, password=citizen.password, resource_service="identity"
                )
            ).access_token
            card = expect(
                await identity.post(
                    "/credentials/id-card",
                    json={"holder_jwk": key.as_dict(private=False)},
                    headers={"Authorization": f"Bearer {token}"},
                ),
                200,
            )
        state["card"] = card["credential"]
        return [
            Told(
                "his app",
                f"made a key that never leaves the phone; card with {len(card['disclosable'])} "
                f"selectively disclosable claims ({', '.join(card['disclosable'])})",
            ),
            Told("identity", "issued the card to his app's key (a token for the identity service only)"),
            Told("super-app", "nothing: his app logged in and fetched the card itself"),
        ]

    return Step("his app gets his ID card from the identity service", run, asks_citizen=True)


def device_presents() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        state["presentation"] = present(
            state["card"],
            disclose={"age_over_18"},
            holder_key=state["device_key"],
            audience=VERIFIER,
            nonce=state["nonce"],
        )
        return [Told("his app", "disclosed age_over_18 only, and signed over the bar's audience and nonce")]

    return Step("he shows the bar “over 18” from his app", run)


def the_bar_checks(expected: set[str], citizen: Persona) -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        disclosed = expect(await _verify(state, state["presentation"], state["nonce"]), 200)["disclosed"]
        truly = {"age_over_18": _is_adult(citizen)}
        if not expected <= set(disclosed) or (expected == {"age_over_18"} and disclosed != truly):
            raise StepFailed(f"the bar saw {disclosed}, and the truth is {truly}")
        verdict = "" if disclosed.get("age_over_18", True) else ": not over 18, so not let in"
        return [Told("bar", f"verified the issuer's signature and the key binding; saw {_shown(disclosed)}{verdict}")]

    return Step("the bar checks the presentation", run)


def a_replay_is_refused() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        refused = await _verify(state, state["presentation"], secrets.token_urlsafe(16))
        expect(refused, 400)
        return [Told("bar", "a copy of the presentation shown with another nonce: refused (invalid-presentation)")]

    return Step("someone replays the presentation at another door", run)


def the_super_app_cannot() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        refused = expect(
            await state["browser"].post(
                "/city-services/id-card/presentations", json={"audience": VERIFIER, "nonce": state["nonce"]}
            ),
            403,
        )
        if kind_of(refused.get("type")) != "card-on-your-device":
            raise StepFailed(f"the super-app refused for another reason: {refused}")
        return [
            Told(
                "super-app",
                "cannot show it (card-on-your-device): it holds no card, no key and no identity token of his",
            )
        ]

    return Step("the super-app's “show ID card” button", run)


def steps(regime: Regime, cast: Cast = DEFAULT_CAST) -> list[Step]:
    if regime is Regime.PLATFORM:
        return [
            log_in(cast.citizen),
            the_bar_asks(),
            platform_presents(),
            the_bar_checks({"name", "resident_id", "birthdate", "address"}, cast.citizen),
            a_replay_is_refused(),
            what_the_super_app_kept(),
        ]
    return [
        log_in(cast.citizen),
        the_bar_asks(),
        the_super_app_cannot(),
        device_card(cast.citizen),
        device_presents(),
        the_bar_checks({"age_over_18"}, cast.citizen),
        a_replay_is_refused(),
        what_the_super_app_kept(),
        it_learned_nothing(),
    ]


def it_learned_nothing() -> Step:
    async def run(state: dict[str, Any]) -> list[Told]:
        return [
            Told("super-app", "was not involved at all: it learned nothing of his card, the bar or the presentation")
        ]

    return Step("what the super-app learned of the ID card", run)
