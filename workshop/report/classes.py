"""The attribute classes the report counts, and what each says about a person.

``identifying``: the value points at a person (or a household) by itself, so finding it anywhere
counts, attached to a name or not. The others count only in a record the party can attribute to the
resident (``workshop.report.records``). ``category``: a special category of personal data in the
sense policy people use (GDPR art. 9 and 10 and their Chinese counterparts for "sensitive personal
information"): health, marital status, creditworthiness. ``sensitive``: what makes a re-identified
record harmful in the breach figures (the special categories and traffic offences).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AttributeClass:
    key: str
    label: str
    identifying: bool = False
    category: str | None = None
    sensitive: bool = False


CLASSES: tuple[AttributeClass, ...] = (
    AttributeClass("resident_id", "resident ID", identifying=True),
    AttributeClass("name", "name", identifying=True),
    AttributeClass("phone", "phone", identifying=True),
    AttributeClass("birth_date", "birth date"),
    AttributeClass("address", "home address", identifying=True),
    AttributeClass("plate", "vehicle plate", identifying=True),
    AttributeClass("offences", "traffic offences", sensitive=True),
    AttributeClass("marital", "marital events", category="marital", sensitive=True),
    AttributeClass("diagnosis", "diagnoses", category="health", sensitive=True),
    AttributeClass("medication", "medications", category="health", sensitive=True),
    AttributeClass("credit", "credit / blacklist status", category="credit", sensitive=True),
    AttributeClass("payments", "payment history"),
    AttributeClass("journeys", "journey history"),
    AttributeClass("appointments", "appointment place and time"),
    AttributeClass("sealed", "sealed content"),
)
BY_KEY = {attribute.key: attribute for attribute in CLASSES}
CATEGORIES: tuple[str, ...] = ("health", "marital", "credit")
SENSITIVE = frozenset(attribute.key for attribute in CLASSES if attribute.sensitive)

# How a party holds a resident's attribute, strongest first; a resident counts once, in the strongest.
CLEAR, PSEUDONYMISED, SEALED = 3, 2, 1
STATES: dict[int, str] = {CLEAR: "clear", PSEUDONYMISED: "pseudonymised", SEALED: "sealed"}
ABSENT = "absent"
