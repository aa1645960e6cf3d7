from enum import StrEnum


class Regime(StrEnum):
    """The two deployments the workshop contrasts over the same code."""

    PLATFORM = "platform"
    RIGHTS = "rights"
