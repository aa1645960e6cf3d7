from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings
from superapp_gateway.stage_origin import checked_stage_origin


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGATE_GATEWAY_")
    service_name: ClassVar[str] = "gateway"

    # What a citizen's wallet holds when it is opened, at first use: demo money, in fen (¥1,000).
    wallet_starting_balance_cents: int = Field(default=100_000, ge=0)
    # The longest a payment waits for its department; past it the payment stays pending (and is
    # retried), and the citizen is answered 504 at once instead of waiting on.
    department_timeout_seconds: float = Field(default=5.0, gt=0)
    # How often the background task retries pending payments.
    wallet_retry_seconds: float = Field(default=5.0, gt=0)
    # The workshop stage's origin (``http://127.0.0.1:8000``), the only page that may show the phone
    # pages (/app/) in a frame; empty: no page may frame them (``frame-ancestors 'none'``).
    stage_origin: str = ""

    @field_validator("stage_origin")
    @classmethod
    def _an_origin(cls, value: str) -> str:
        return checked_stage_origin(value)
