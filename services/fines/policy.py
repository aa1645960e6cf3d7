"""The one place the regimes differ for the traffic police: what the credit platform is told, and
who may pay a fine. Chosen once per app in ``create_app``; routes reach it as ``PolicyDep``
(``services.fines.dependencies``)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.payers import AnyoneWithTheReference, LiablePartyPays, PayerRule
from kernel.regime import Regime
from services.fines.credit_reporting import CreditReporting, ReportNothing, ReportToCreditPlatform


@dataclass(frozen=True)
class FinesPolicy:
    credit_reporting: CreditReporting
    payer_rule: PayerRule


def policy_for(regime: Regime) -> FinesPolicy:
    if regime is Regime.PLATFORM:
        # overdue fines are reported; the wallet names the payer by resident ID, who must own the car
        return FinesPolicy(ReportToCreditPlatform(), LiablePartyPays())
    # nothing leaves the department; the wallet cannot name the payer, so a fine is paid by its reference
    return FinesPolicy(ReportNothing(), AnyoneWithTheReference())
