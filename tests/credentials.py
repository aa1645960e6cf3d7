"""The credentials a caller of a citygate service can hold, obtained the way real callers obtain them:
a department's service token (client credentials from the identity service), a citizen's app token
(the authorization code flow of ``citizen-app``) and the super-app's session cookie (a browser login).

Shared by the bounds tests and the fuzzer (tests/fuzzing.py); not a test module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from identity.personas import DEMO_PASSWORD, Persona, by_handle
from identity.totp import totp
from kernel.access import ACCESS_POLICY, callee_of
from kernel.citizens import CITIZEN_RESOURCES
from tests.mesh import Mesh
from workshop.citizen_app import citizen_token
from workshop.super_app import log_in_to_super_app

# The citizen whose app calls the departments, the consent service and the pod, and the one logged in
# to the super-app: two people, because each TOTP step is accepted once per citizen.
APP_CITIZEN = by_handle("wang-fang")
SESSION_CITIZEN = by_handle("li-wei")
# Renew a credential this long before it lapses.
RENEW_MARGIN = timedelta(seconds=30)
# The super-app session is renewed this often: a fuzzer may log it out.
SESSION_RENEWAL = timedelta(minutes=2)


def service_callers(callee: str) -> list[str]:
    """Callers whose tokens together hold every permission on ``callee`` (greedy cover, most first)."""
    wanted = {permission for permission in ACCESS_POLICY if callee_of(permission) == callee}
    chosen: list[str] = []
    while wanted:
        callers = {caller for permission in wanted for caller in ACCESS_POLICY[permission]}
        best = max(sorted(callers), key=lambda caller: sum(caller in ACCESS_POLICY[p] for p in wanted))
        chosen.append(best)
        wanted = {permission for permission in wanted if best not in ACCESS_POLICY[permission]}
    return chosen


def credential_kinds(mesh: Mesh, service: str) -> list[str]:
    """Every kind of caller ``service`` takes in this mesh: anonymous, ``service:<caller>`` for
    departments, ``citizen-app`` for citizens' own apps, ``session`` for the super-app's browser."""
    kinds = ["anonymous"]
    kinds += [f"service:{caller}" for caller in service_callers(service) if caller in mesh.apps]
    if service in CITIZEN_RESOURCES:
        kinds.append("citizen-app")
    if service == "gateway":
        kinds.append("session")
    return kinds


async def service_token(mesh: Mesh, caller: str, callee: str) -> str:
    """``caller``'s token for ``callee``, from the identity service (cached and renewed by the caller)."""
    return await mesh.apps[caller].state.services.tokens.token_for(callee)


def _second_factor(persona: Persona):
    return lambda: totp(persona.totp_secret, time.time())


@dataclass
class Credentials:
    """Headers for each credential kind, renewed before they lapse. Runs on the mesh's event loop."""

    mesh: Mesh
    _app_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _identity_browser: httpx.AsyncClient | None = None
    _session: tuple[dict[str, str], datetime] | None = None

    async def headers(self, service: str, kind: str) -> dict[str, str]:
        if kind == "anonymous":
            return {}
        if kind.startswith("service:"):
            return {"Authorization": f"Bearer {await service_token(self.mesh, kind.split(':', 1)[1], service)}"}
        if kind == "citizen-app":
            return {"Authorization": f"Bearer {await self.app_token(service)}"}
        if kind == "session":
            return await self.session_headers()
        raise ValueError(f"unknown credential kind {kind!r}")

    async def app_token(self, service: str) -> str:
        cached = self._app_tokens.get(service)
        if cached and cached[1] - RENEW_MARGIN > datetime.now(UTC):
            return cached[0]
        if self._identity_browser is None:  # one login session serves every token: one TOTP step
            self._identity_browser = self.mesh.client("identity")
        tokens = await citizen_token(
            self._identity_browser,
            username=APP_CITIZEN.handle,
            password=DEMO_PASSWORD,
            resource_service=service,
            totp_code=_second_factor(APP_CITIZEN),
        )
        self._app_tokens[service] = (tokens.access_token, tokens.expires_at)
        return tokens.access_token

    async def session_headers(self) -> dict[str, str]:
        if self._session and self._session[1] > datetime.now(UTC):
            return self._session[0]
        gateway = self.mesh.urls["gateway"]
        async with httpx.AsyncClient(transport=self.mesh.transport) as browser:
            await log_in_to_super_app(
                browser,
                gateway,
                username=SESSION_CITIZEN.handle,
                password=DEMO_PASSWORD,
                totp_code=_second_factor(SESSION_CITIZEN),
            )
            # cookies are not kept apart by port: the identity service's ride along, as in a browser
            cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies.jar)
        # the super-app's own pages send these on every state-changing request
        headers = {"Cookie": cookies, "Origin": gateway, "Sec-Fetch-Site": "same-origin"}
        self._session = (headers, datetime.now(UTC) + SESSION_RENEWAL)
        return headers

    async def aclose(self) -> None:
        if self._identity_browser is not None:
            await self._identity_browser.aclose()
