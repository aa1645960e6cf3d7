from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_FINES_")
    service_name: ClassVar[str] = "fines"

    # How often the background worker sweeps overdue fines and retries the credit outbox
    # (CITYGATE_FINES_WORKER_INTERVAL_SECONDS); a payment or the demo seed wakes it at once.
    worker_interval_seconds: float = Field(default=15.0, gt=0)
