"""A relying party and a browser, driving the provider exactly as standard ones do."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt as pyjwt  # independent of the provider's joserfc
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign

from identity.personas import DEMO_PASSWORD
from kernel.client import CLIENT_ASSERTION_TYPE, TOKEN_PATH
from tests.mesh import Mesh

HIDDEN = re.compile(r"<input type=hidden name='([^']+)' value='([^']*)'>")


def hidden_fields(html: str) -> dict[str, str]:
    import html as html_lib

    return {name: html_lib.unescape(value) for name, value in HIDDEN.findall(html)}


@dataclass
class AuthorizationRequest:
    params: dict[str, str]
    verifier: str

    @property
    def query(self) -> str:
        return urlencode(self.params)


@dataclass
class RelyingParty:
    mesh: Mesh
    client_id: str
    browser: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.browser = self.mesh.client("identity")

    @property
    def redirect_uri(self) -> str:
        return self.mesh.apps["identity"].state.settings.redirect_uris[self.client_id][0]

    @property
    def issuer(self) -> str:
        return self.mesh.urls["identity"]

    def request(self, scope: str = "openid", **overrides: str) -> AuthorizationRequest:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return AuthorizationRequest({k: v for k, v in params.items() if v is not None}, verifier)

    async def authorize(self, auth: AuthorizationRequest) -> httpx.Response:
        return await self.browser.get(f"/authorize?{auth.query}")

    async def log_in(self, page: httpx.Response, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        form = hidden_fields(page.text) | {"username": username, "password": password}
        response = await self.browser.post("/login", data=form)
        if response.status_code == 303:
            return await self.browser.get("/" + response.headers["location"])
        return response

    async def second_factor(self, page: httpx.Response, code: str) -> httpx.Response:
        response = await self.browser.post("/login/second-factor", data=hidden_fields(page.text) | {"code": code})
        if response.status_code == 303:
            return await self.browser.get("/" + response.headers["location"])
        return response

    async def decide(self, page: httpx.Response, decision: str) -> httpx.Response:
        return await self.browser.post("/authorize", data=hidden_fields(page.text) | {"decision": decision})

    async def code_from(self, response: httpx.Response, auth: AuthorizationRequest) -> str:
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.redirect_uri
        query = parse_qs(location.query)
        assert query["state"] == [auth.params["state"]]
        return query["code"][0]

    def assertion(self) -> str:
        key = self.mesh.apps[self.client_id].state.signing_key
        return private_key_jwt_sign(key, self.client_id, self.issuer + TOKEN_PATH, alg="ES256", expires_in=60)

    async def exchange(self, code: str, verifier: str | None, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        form.update(overrides)
        async with self.mesh.client("identity") as client:
            return await client.post(TOKEN_PATH, data={k: v for k, v in form.items() if v is not None})

    async def verified_id_token(self, id_token: str, nonce: str) -> dict:
        async with self.mesh.client("identity") as client:
            jwks = (await client.get("/.well-known/jwks.json")).json()
        kid = pyjwt.get_unverified_header(id_token)["kid"]
        key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
        claims = pyjwt.decode(id_token, key, algorithms=["ES256"], audience=self.client_id, issuer=self.issuer)
        assert claims["nonce"] == nonce
        return claims
