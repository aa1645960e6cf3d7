"""The journeys ``citygate walkthrough`` can tell: each module gives its persona and its steps per regime."""

from __future__ import annotations

from types import ModuleType

from workshop.journeys import appointments, fines, id_card, my_data, prescriptions

# in this order: "my data" looks at the consent the prescriptions journey leaves
JOURNEYS: dict[str, ModuleType] = {
    "fines": fines,
    "appointments": appointments,
    "prescriptions": prescriptions,
    "id-card": id_card,
    "my-data": my_data,
}
