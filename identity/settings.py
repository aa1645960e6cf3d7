from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kernel import topology
from kernel.citizens import CITIZEN_WEB_CALLBACK_PATH, DEFAULT_CITIZEN_APP_REDIRECT_URI
from kernel.client import JWKS_PATH
from kernel.regime import Regime
from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_IDENTITY_")
    service_name: ClassVar[str] = "identity"

    access_token_ttl_seconds: int = 300
    id_token_ttl_seconds: int = 300
    authorization_code_ttl_seconds: int = 60
    login_session_ttl_seconds: int = 1800
    # the token-signing key is replaced at start once it is this old; its predecessor stays
    # in the JWKS until every token it signed has expired
    signing_key_rotation_days: float = 30.0
    # client_id -> the URL of the client's published public key (RFC 7591 jwks_uri)
    clients: dict[str, str] = Field(default_factory=dict)
    # client_id -> its exact redirect URIs (browser-facing); only relying parties have them
    redirect_uris: dict[str, list[str]] = Field(default_factory=dict)
    # the citizen's own app (public client, RFC 8252): its one redirect URI, matched exactly
    citizen_app_redirect_uri: str = DEFAULT_CITIZEN_APP_REDIRECT_URI
    # the workshop's stage (workshop/stage), whose page shows the login and consent pages in a frame:
    # their frame-ancestors (kernel/framing.py); unset, no page of the provider may be framed
    stage_origin: str | None = None

    @field_validator("citizen_app_redirect_uri")
    @classmethod
    def _loopback_or_https(cls, uri: str) -> str:
        parts = urlsplit(uri)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "::1"}  # RFC 8252 §7.3, §8.3
        if not (loopback or (parts.scheme == "https" and parts.hostname)) or parts.fragment:
            raise ValueError("the citizen app's redirect URI is http://127.0.0.1 or [::1] (loopback), or https")
        return uri

    @property
    def citizen_app_redirect_uris(self) -> tuple[str, ...]:
        """The citizen's app's redirect URIs: the native app's, and the citizen web app's
        ``<citizen_web_origin>/callback`` when that origin is set (workshop/citizen_web)."""
        web = [f"{self.citizen_web_origin.rstrip('/')}{CITIZEN_WEB_CALLBACK_PATH}"] if self.citizen_web_origin else []
        return (self.citizen_app_redirect_uri, *web)

    @property
    def issuer(self) -> str:
        """The provider's issuer identifier (``iss``): its public URL."""
        assert self.public_url is not None  # set by ServiceSettings' validator
        return self.public_url

    @property
    def longest_token_lifetime_seconds(self) -> int:
        return max(self.access_token_ttl_seconds, self.id_token_ttl_seconds)

    @model_validator(mode="after")
    def _register_the_regimes_services(self) -> Settings:
        """Unset, the clients are the regime's other services where ``citygate up`` puts them."""
        loopback = _loopback_of(self.regime)
        if not self.clients:
            self.clients = _client_keys(self.regime, loopback)
        if not self.redirect_uris:
            self.redirect_uris = _redirect_uris(self.regime, loopback)
        return self

    @classmethod
    def deployment_environment(
        cls, regime: Regime, url_of: Callable[[str], str], browser_url_of: Callable[[str], str]
    ) -> dict[str, str]:
        """The regime's other services as clients: their keys where services reach them, the
        relying parties' redirect URIs where a citizen's browser does."""
        keys, redirects = _client_keys(regime, url_of), _redirect_uris(regime, browser_url_of)
        env = {}
        for name, jwks_uri in keys.items():
            env[f"CLIENTS__{name.upper()}"] = jwks_uri
            if name in redirects:
                env[f"REDIRECT_URIS__{name.upper()}"] = json.dumps(redirects[name])
        return env


def _loopback_of(regime: Regime) -> Callable[[str], str]:
    return lambda name: topology.loopback_url(name, regime)


def _clients_in(regime: Regime) -> list[topology.ServiceSpec]:
    """Every other service of the regime is a client of its token issuer."""
    return [spec for spec in topology.services_in(regime) if spec.name != Settings.service_name]


def _client_keys(regime: Regime, url_of: Callable[[str], str]) -> dict[str, str]:
    return {spec.name: url_of(spec.name) + JWKS_PATH for spec in _clients_in(regime)}


def _redirect_uris(regime: Regime, browser_url_of: Callable[[str], str]) -> dict[str, list[str]]:
    return {
        spec.name: [browser_url_of(spec.name) + topology.CALLBACK_PATH]
        for spec in _clients_in(regime)
        if spec.relying_party
    }
