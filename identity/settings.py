from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kernel import topology
from kernel.citizens import DEFAULT_CITIZEN_APP_REDIRECT_URI
from kernel.client import JWKS_PATH
from kernel.settings import ServiceSettings

# The services that are relying parties of the citizen login, and where the browser comes back.
RELYING_PARTIES = ("gateway", "fines", "appointments", "prescriptions")
CALLBACK_PATH = "/auth/callback"


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
    clients: dict[str, str] = {}
    # client_id -> its exact redirect URIs (browser-facing); only relying parties have them
    redirect_uris: dict[str, list[str]] = {}
    # the citizen's own app (public client, RFC 8252): its one redirect URI, matched exactly
    citizen_app_redirect_uri: str = DEFAULT_CITIZEN_APP_REDIRECT_URI

    @field_validator("citizen_app_redirect_uri")
    @classmethod
    def _loopback_or_https(cls, uri: str) -> str:
        parts = urlsplit(uri)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "::1"}  # RFC 8252 §7.3, §8.3
        if not (loopback or (parts.scheme == "https" and parts.hostname)) or parts.fragment:
            raise ValueError("the citizen app's redirect URI is http://127.0.0.1 or [::1] (loopback), or https")
        return uri

    @property
    def longest_token_lifetime_seconds(self) -> int:
        return max(self.access_token_ttl_seconds, self.id_token_ttl_seconds)

    @model_validator(mode="after")
    def _register_the_regimes_services(self) -> Settings:
        present = [spec.name for spec in topology.services_in(self.regime) if spec.name != self.service_name]
        if not self.clients:
            self.clients = {name: topology.loopback_url(name, self.regime) + JWKS_PATH for name in present}
        if not self.redirect_uris:
            self.redirect_uris = {
                name: [topology.loopback_url(name, self.regime) + CALLBACK_PATH]
                for name in present
                if name in RELYING_PARTIES
            }
        return self
