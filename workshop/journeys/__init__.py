"""The journeys ``citygate walkthrough`` can tell: each module gives its persona and its steps per regime."""

from __future__ import annotations

from types import ModuleType

from workshop.journeys import fines

JOURNEYS: dict[str, ModuleType] = {"fines": fines}
