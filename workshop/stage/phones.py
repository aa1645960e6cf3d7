"""The two phones the stage frames side by side, the personas they can be loaded with, and the journeys.

The platform phone is the super-app gateway's pages (``/app/`` of the platform regime's gateway); the
rights phone is the citizen's own app on its own origin. Both take ``?persona=<handle>`` on their start
address and pre-fill that persona's login.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from kernel import topology
from kernel.personas import PERSONAS, Persona, UnknownPersona, by_handle
from kernel.problems import Problem
from kernel.regime import Regime
from workshop.web_apps import CITIZEN_WEB


class UnknownJourney(Problem):
    status, kind = 404, "unknown-journey"


@dataclass(frozen=True)
class Phone:
    regime: Regime
    label: str
    start: str  # the start page, without the persona
    # where the phone opens a journey directly (the citizen's app: /journeys/<key>); None: at its start
    # page, where the citizen taps the journey (the super-app's City Services grid)
    journeys: str | None = None

    @property
    def origin(self) -> str:
        parts = urlsplit(self.start)
        return f"{parts.scheme}://{parts.netloc}"

    def start_url(self, persona: Persona, journey: Journey | None = None) -> str:
        page = self.start if self.journeys is None or journey is None else f"{self.journeys}{journey.key}"
        return f"{page}?{urlencode({'persona': persona.handle})}"


def phones(base_ports: dict[Regime, int]) -> tuple[Phone, Phone]:
    """Left, the platform super-app; right, the citizen's own app."""
    return (
        Phone(
            Regime.PLATFORM,
            "Platform super-app (China's model)",
            topology.loopback_url("gateway", Regime.PLATFORM, base_ports) + "/app/",
        ),
        Phone(
            Regime.RIGHTS,
            "Citizen's own app (rights regime)",
            CITIZEN_WEB.url(base_ports) + "/",
            journeys=CITIZEN_WEB.url(base_ports) + "/journeys/",
        ),
    )


def framed_origins(base_ports: dict[Regime, int]) -> list[str]:
    """What the phones' frames may show: the phones, and the pages a login takes them through in the
    frame (each regime's identity provider and super-app gateway)."""
    left, right = phones(base_ports)
    logins = [topology.loopback_url(name, regime, base_ports) for regime in Regime for name in ("gateway", "identity")]
    return list(dict.fromkeys([left.origin, right.origin, *logins]))


@dataclass(frozen=True)
class Journey:
    key: str
    title: str


JOURNEYS: tuple[Journey, ...] = (
    Journey("fines", "Pay a traffic fine"),
    Journey("appointments", "Book a divorce appointment (both spouses)"),
    Journey("prescriptions", "See a doctor and get a prescription"),
    Journey("id-card", "Show the ID card (over 18?)"),
    Journey("my-data", "My data: who used what"),
)
DEFAULT_PERSONA = PERSONAS[0].handle
DEFAULT_JOURNEY = JOURNEYS[0].key


def persona(handle: str) -> Persona:
    """The demo persona ``handle``; UnknownPersona (404) for any other string."""
    try:
        return by_handle(handle)
    except KeyError:
        raise UnknownPersona("No demo persona has this handle.", personas=[p.handle for p in PERSONAS]) from None


def journey(key: str) -> Journey:
    for candidate in JOURNEYS:
        if candidate.key == key:
            return candidate
    raise UnknownJourney("No journey has this name.", journeys=[j.key for j in JOURNEYS])


def partner(of: Persona) -> Persona | None:
    """The persona's spouse, for the journeys that need both (the divorce)."""
    return by_handle(of.spouse) if of.spouse else None
