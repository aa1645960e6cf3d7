"""Every route of the hospital and pharmacy lists, in its OpenAPI ``responses``, the problems it can answer."""

from __future__ import annotations

import re

import pytest

from kernel.regime import Regime
from services.prescriptions.app import create_app
from services.prescriptions.settings import Settings

# what reading the contents may meet in the rights regime, where they are in the patient's pod
READING_CONTENTS = {"no-consent", "contents-erased", "prescription-altered", "pod-unavailable", "upstream-error"}
ISSUING = {"pod-required", "invalid-pod", "pod-not-found", "no-consent", "pod-unavailable", "upstream-error"}
READING = {"prescription-not-found"} | READING_CONTENTS
DISPENSING = {"prescription-not-found", "not-paid", "already-dispensed"} | READING_CONTENTS
DELIVERING = {"prescription-not-found", "not-dispensed", "delivery-already-ordered", "no-consent", "upstream-error"}
EXPECTED = {
    ("get", "/citizens/{subject}/prescriptions"): {"pod-unavailable", "upstream-error"},
    ("post", "/prescriptions"): ISSUING,
    ("post", "/consultations"): ISSUING,
    ("get", "/prescriptions/{prescription_id}"): READING,
    ("post", "/prescriptions/{prescription_id}/payments"): {
        "idempotency-key-missing",
        "invalid-idempotency-key",
        "invalid-payment-confirmation",
        "payment-confirmation-mismatch",
        "prescription-not-found",
        "payer-not-patient",
        "idempotency-key-reused",
        "already-paid",
    },
    ("post", "/prescriptions/{prescription_id}/dispensations"): DISPENSING,
    ("post", "/prescriptions/{prescription_id}/delivery"): DELIVERING,
    ("get", "/me/prescriptions"): {"pod-unavailable", "upstream-error"},
    ("get", "/me/prescriptions/{prescription_id}"): READING,
    ("post", "/me/consultations"): ISSUING,
    ("post", "/me/prescriptions/{prescription_id}/dispensation"): DISPENSING,
    ("post", "/me/prescriptions/{prescription_id}/delivery-consent"): {
        "prescription-not-found",
        "delivery-already-ordered",
        "no-consent-asked",
        "upstream-error",
    },
    ("post", "/me/prescriptions/{prescription_id}/delivery"): DELIVERING,
}


def listed_kinds(operation: dict) -> set[str]:
    descriptions = " ".join(str(response.get("description", "")) for response in operation["responses"].values())
    return set(re.findall(r"urn:citygate:problem:([a-z0-9-]+)", descriptions))


@pytest.mark.parametrize("regime", [Regime.PLATFORM, Regime.RIGHTS])
def test_every_route_lists_its_problems(regime, tmp_path):
    paths = create_app(Settings(data_dir=tmp_path, regime=regime)).openapi()["paths"]
    routes = {(method, path) for path, operations in paths.items() for method in operations}
    assert set(EXPECTED) <= routes
    for (method, path), kinds in EXPECTED.items():
        assert kinds <= listed_kinds(paths[path][method]), (method, path)
