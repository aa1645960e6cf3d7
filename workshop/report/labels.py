"""How the report names join keys for people who read it."""

from __future__ import annotations

KIND_LABELS: dict[str, str] = {
    "resident-id": "resident ID",
    "phone": "phone number",
    "name": "name",
    "plate": "plate",
    "address": "home address",
    "account": "identity provider's account id",
    "payment-reference": "payment reference",
    "timestamps": "timestamps within the window",
    "amounts": "same amount, same day",
}
FIELD_LABELS = {"birth_date": "birth date", "sex": "sex", "district": "district"}


def kind_label(kind: str) -> str:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    prefix, _, rest = kind.partition(":")
    if prefix == "pseudonym":
        return f"pseudonym ({rest} sector)"
    if prefix == "reference":
        return f"shared record id ({rest})"
    if prefix == "quasi":
        return " + ".join(FIELD_LABELS.get(name, name) for name in rest.split("+"))
    return kind
