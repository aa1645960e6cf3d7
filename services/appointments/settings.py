from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_APPOINTMENTS_")
    service_name: ClassVar[str] = "appointments"

    # How long the second partner has to confirm a marriage or divorce booking before it lapses and
    # its place is freed (CITYGATE_APPOINTMENTS_CONFIRMATION_WINDOW_MINUTES); never past the slot's start.
    confirmation_window_minutes: float = Field(default=30, gt=0)

    @property
    def confirmation_window(self) -> timedelta:
        return timedelta(minutes=self.confirmation_window_minutes)
