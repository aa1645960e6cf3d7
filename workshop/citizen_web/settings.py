"""Where the rights phone is served and whom its page talks to (env prefix ``CITYGATE_CITIZEN_WEB_``)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel import topology
from kernel.regime import Regime

CITIZEN_WEB = "citizen-web"  # its name among what `citygate up` starts
# The rights regime's services the page may ask for keys and (through the courier) for answers.
NOT_DEPARTMENTS = frozenset({"gateway", "identity"})
# its port relative to the rights regime's base port (8200 -> 8210)
PORT_OFFSET = 10


def rights_departments(base_ports: dict[Regime, int] = topology.BASE_PORT) -> dict[str, str]:
    return {
        spec.name: topology.loopback_url(spec.name, Regime.RIGHTS, base_ports)
        for spec in topology.services_in(Regime.RIGHTS)
        if spec.name not in NOT_DEPARTMENTS
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_CITIZEN_WEB_", env_nested_delimiter="__", extra="ignore")

    host: str = topology.LOOPBACK
    port: int = topology.BASE_PORT[Regime.RIGHTS] + PORT_OFFSET
    # the rights super-app (the blind courier, the wallet, its login) and identity provider, as a
    # browser reaches them
    gateway_url: str = topology.loopback_url("gateway", Regime.RIGHTS)
    identity_url: str = topology.loopback_url("identity", Regime.RIGHTS)
    # department name -> its address (the page fetches its encryption key there, never via the gateway)
    departments: dict[str, str] = Field(default_factory=rights_departments)
    # the workshop's stage, which shows this app in a frame (kernel/framing.py); unset, nobody may
    stage_origin: str | None = None

    @model_validator(mode="after")
    def _without_trailing_slashes(self) -> Settings:
        self.gateway_url = self.gateway_url.rstrip("/")
        self.identity_url = self.identity_url.rstrip("/")
        self.departments = {name: url.rstrip("/") for name, url in self.departments.items()}
        return self

    @classmethod
    def for_base_ports(cls, base_ports: dict[Regime, int], **overrides: object) -> Settings:
        """The app placed among the rights services of ``citygate up --base-port``."""
        fields: dict[str, object] = {
            "port": base_ports[Regime.RIGHTS] + PORT_OFFSET,
            "gateway_url": topology.loopback_url("gateway", Regime.RIGHTS, base_ports),
            "identity_url": topology.loopback_url("identity", Regime.RIGHTS, base_ports),
            "departments": rights_departments(base_ports),
        }
        return cls.model_validate(fields | overrides)

    @property
    def origin(self) -> str:
        host = topology.LOOPBACK if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
