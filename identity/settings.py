from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from kernel import topology
from kernel.client import JWKS_PATH
from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_IDENTITY_")
    service_name: ClassVar[str] = "identity"

    access_token_ttl_seconds: int = 300
    # client_id -> the URL of the client's published public key (RFC 7591 jwks_uri)
    clients: dict[str, str] = {}

    @model_validator(mode="after")
    def _register_the_regimes_services(self) -> Settings:
        if not self.clients:
            self.clients = {
                spec.name: topology.loopback_url(spec.name, self.regime) + JWKS_PATH
                for spec in topology.services_in(self.regime)
                if spec.name != self.service_name
            }
        return self
