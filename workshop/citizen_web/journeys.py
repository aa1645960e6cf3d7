"""The journeys the citizen's own app offers: one registry, from which the home page lists them and
``/journeys/<key>`` serves each one's page.

A built journey has its page: ``templates/citizen_web/journeys/<key>.html``, whose script
is ``static/journeys/<key>.js`` (an ES module). Adding a journey is one entry here plus those two
files; an entry with ``built=False`` is listed and answers a short "not built yet" page.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.problems import NotFound


@dataclass(frozen=True)
class Journey:
    key: str  # its address: /journeys/<key>
    title: str  # the link on the home page and the page's heading
    summary: str  # one line under the link
    # the department the app logs in for on the journey's page (citizen_web/journey.html), and its button
    department_title: str = ""
    login_label: str = ""

    @property
    def path(self) -> str:
        return f"/journeys/{self.key}"

    @property
    def template(self) -> str:
        return f"citizen_web/journeys/{self.key}.html"

    @property
    def script(self) -> str:
        return f"/static/journeys/{self.key}.js"


JOURNEYS: tuple[Journey, ...] = (
    Journey(
        "fines",
        "Pay a traffic fine",
        "Look up your fines and pay one from the super-app wallet.",
        department_title="the traffic police",
        login_label="Log in for traffic fines",
    ),
    Journey(
        "appointments",
        "Book a civil-registry appointment",
        "Book a slot for a couple's registration; your partner confirms from their own app.",
        department_title="the civil registry",
        login_label="Log in for the civil registry",
    ),
    Journey(
        "prescriptions",
        "Get a prescription",
        "See a doctor, pay, have the pharmacy dispense and deliver, and check the hospital's signature.",
        department_title="the hospital",
        login_label="Log in for the hospital",
    ),
    Journey("id-card", "Your ID card", "Show that you are over 18 without showing who you are."),
    Journey("my-data", "Your data", "Your consents, who read your data and why, and your pod."),
)
BY_KEY = {journey.key: journey for journey in JOURNEYS}


def journey_named(key: str) -> Journey:
    try:
        return BY_KEY[key]
    except KeyError:
        # the kernel's not-found: the stage's own unknown-journey kind is another package's
        raise NotFound(f"The app offers no journey {key!r}.") from None
