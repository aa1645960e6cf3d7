from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_FINES_")
    service_name: ClassVar[str] = "fines"
