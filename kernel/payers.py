"""Who may pay a department's bill with the wallet's signed confirmation: a regime's rule.

- **platform** — the departments and the wallet know the citizen by one identifier, the resident
  ID, so the wallet names the payer and only the person the bill is addressed to (the fined
  vehicle's owner, the prescription's patient) may pay it: ``LiablePartyPays``.
- **rights** — each department knows the citizen by its own sector's pseudonym, which the wallet
  must not learn, so the wallet cannot name the payer: its confirmation carries an opaque
  per-payment value (``wallet:<payment id>``), and anyone may pay a bill by its reference, like a
  bank transfer quoting a reference number: ``AnyoneWithTheReference``.

In both regimes the department still checks everything else the confirmation asserts (payee,
reference, amount, currency, idempotency key). Each department picks its rule once, in its
regime policy (``services/<department>/policy.py``); the domain code only calls ``accepts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PayerRule(Protocol):
    def accepts(self, payer: str, *, liable: str) -> bool:
        """Whether a confirmation naming ``payer`` may pay a bill addressed to ``liable``."""
        ...


@dataclass(frozen=True)
class LiablePartyPays:
    """Platform regime: the payer must be the subject the bill is addressed to."""

    def accepts(self, payer: str, *, liable: str) -> bool:
        return payer == liable


@dataclass(frozen=True)
class AnyoneWithTheReference:
    """Rights regime: the payer is not compared (the wallet cannot know the department's pseudonym)."""

    def accepts(self, payer: str, *, liable: str) -> bool:
        return True
