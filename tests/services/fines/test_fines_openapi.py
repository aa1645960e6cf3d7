"""Every route of the traffic police lists, in its OpenAPI ``responses``, the problems it can answer."""

from __future__ import annotations

import re

import pytest

from kernel.regime import Regime
from services.fines.app import create_app
from services.fines.settings import Settings

PAYING = {
    "idempotency-key-missing",
    "invalid-idempotency-key",
    "fine-not-found",
    "invalid-payment-confirmation",
    "payer-not-owner",
    "payment-mismatch",
    "idempotency-key-reused",
    "fine-already-paid",
    "payment-conflict",
}
EXPECTED = {
    ("get", "/vehicles/{plate}/fines"): {"vehicle-not-found"},
    ("get", "/citizens/{subject}/fines"): set(),
    ("get", "/fines/{fine_id}"): {"fine-not-found"},
    ("get", "/fines/{fine_id}/receipt"): {"fine-not-found", "receipt-not-found"},
    ("post", "/fines/{fine_id}/payments"): PAYING,
    ("get", "/me/fines"): set(),
    ("get", "/me/fines/{fine_id}"): {"fine-not-found"},
}


def listed_kinds(operation: dict) -> set[str]:
    descriptions = " ".join(str(response.get("description", "")) for response in operation["responses"].values())
    return set(re.findall(r"urn:citygate:problem:([a-z0-9-]+)", descriptions))


@pytest.mark.parametrize("regime", [Regime.PLATFORM, Regime.RIGHTS])
def test_every_route_lists_its_problems(regime, tmp_path):
    paths = create_app(Settings(data_dir=tmp_path, regime=regime)).openapi()["paths"]
    for (method, path), kinds in EXPECTED.items():
        assert kinds <= listed_kinds(paths[path][method]), (method, path)
    # the payment answers its receipt again (200) as well as a new one (201)
    assert {"200", "201"} <= set(paths["/fines/{fine_id}/payments"]["post"]["responses"])
