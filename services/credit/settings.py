from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_CREDIT_")
    service_name: ClassVar[str] = "credit"

    # How long a settlement takes to reach the blacklists (CITYGATE_CREDIT_SETTLEMENT_LAG_SECONDS).
    # The seed documents report people "at the continued peril of blacklisting despite having paid
    # their dues" because records were updated late; a workshop sets this to a few minutes to show it.
    settlement_lag_seconds: float = Field(default=0, ge=0)

    @property
    def settlement_lag(self) -> timedelta:
        return timedelta(seconds=self.settlement_lag_seconds)
