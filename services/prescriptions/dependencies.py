"""The hospital and pharmacy's typed state (``kernel.state``: the service's own fields are its policy
and its payment verifier) and the dependencies its routes name: ``StateDep``, ``SettingsDep``,
``PolicyDep``, the regime's store and delivery desk (``StoreDep``, ``DeliveryDep``),
``PaymentVerifierDep`` and the doctors' desk's queue (``HospitalDeskDep``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from kernel.payment_confirmations import SIGNER, PaymentConfirmationVerifier
from kernel.state import ServiceState, state_of
from kernel.write_locks import LocalQueue
from services.prescriptions.delivery import DeliveryDesk
from services.prescriptions.payments import MAX_CLAIM_LENGTH
from services.prescriptions.policy import PrescriptionsPolicy, policy_for
from services.prescriptions.settings import Settings
from services.prescriptions.stores import PrescriptionStore


@dataclass(kw_only=True, eq=False)
class PrescriptionsState(ServiceState[Settings]):
    # The regime's policy: its pod store and delivery desk call other services through this state's
    # client (once the app serves) and sign with its key, so it is built here, from the settings.
    policy: PrescriptionsPolicy = field(init=False)
    # the wallet's payment confirmations; the gateway's keys are fetched on first use, once serving
    payment_verifier: PaymentConfirmationVerifier = field(init=False)
    # the doctors' desk: issuing calls the pod and the consent service under the reference's write lock
    hospital_desk: LocalQueue = field(init=False)

    def __post_init__(self) -> None:
        self.hospital_desk = LocalQueue()
        self.policy = policy_for(self.settings.regime, lambda: self.services, lambda: self.signing_key)
        self.payment_verifier = PaymentConfirmationVerifier(
            lambda: self.services.fetch_peer_jwks(SIGNER), max_claim_length=MAX_CLAIM_LENGTH
        )


async def prescriptions_state(request: Request) -> PrescriptionsState:
    return state_of(request.app, PrescriptionsState)


StateDep = Annotated[PrescriptionsState, Depends(prescriptions_state)]


async def prescriptions_settings(state: StateDep) -> Settings:
    return state.settings


async def prescriptions_policy(state: StateDep) -> PrescriptionsPolicy:
    return state.policy


SettingsDep = Annotated[Settings, Depends(prescriptions_settings)]
PolicyDep = Annotated[PrescriptionsPolicy, Depends(prescriptions_policy)]


async def regime_store(policy: PolicyDep) -> PrescriptionStore:
    return policy.store


async def regime_delivery(policy: PolicyDep) -> DeliveryDesk:
    return policy.delivery


async def payment_verifier(state: StateDep) -> PaymentConfirmationVerifier:
    return state.payment_verifier


StoreDep = Annotated[PrescriptionStore, Depends(regime_store)]
DeliveryDep = Annotated[DeliveryDesk, Depends(regime_delivery)]
PaymentVerifierDep = Annotated[PaymentConfirmationVerifier, Depends(payment_verifier)]


async def hospital_desk(state: StateDep) -> LocalQueue:
    return state.hospital_desk


HospitalDeskDep = Annotated[LocalQueue, Depends(hospital_desk)]
