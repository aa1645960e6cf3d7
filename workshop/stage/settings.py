"""The stage's settings (env prefix ``CITYGATE_STAGE_``); ``citygate up`` sets them for its ports and data root."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel import topology
from kernel.regime import Regime


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_STAGE_", extra="ignore")

    host: str = topology.LOOPBACK
    port: int = topology.BASE_PORT[Regime.PLATFORM] - 100
    # the launcher's data root: each service's database under <data_dir>/<regime>/<service>/
    data_dir: Path = Path("var")
    # the platform regime's first port (`citygate up --base-port`): where the phones and services are
    base_port: int = topology.BASE_PORT[Regime.PLATFORM]
    # a regime's databases when they are not SQLite files under data_dir (compose's PostgreSQL):
    # regime -> service -> database URL, as JSON in CITYGATE_STAGE_DATABASE_URLS
    database_urls: dict[Regime, dict[str, str]] = {}
    log_level: str = "INFO"
    # how often the who-learned-what panels ask again while nobody presses "After this step"
    poll_seconds: int = 4

    @property
    def base_ports(self) -> dict[Regime, int]:
        return topology.base_ports_from(self.base_port)
