from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_CONSENT_")
    service_name: ClassVar[str] = "consent"
