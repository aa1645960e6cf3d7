"""The traffic police's typed state (``kernel.state``: the service's own fields are its policy, its
payment verifier and its worker) and the dependencies its routes name: ``StateDep``, ``SettingsDep``,
``PolicyDep``, ``PaymentVerifierDep``, ``WorkerDep``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from kernel.payment_confirmations import SIGNER, PaymentConfirmationVerifier
from kernel.state import ServiceState, state_of
from services.fines.policy import FinesPolicy
from services.fines.settings import Settings
from services.fines.worker import FinesWorker

MAX_CLAIM_LENGTH = 200  # the longest payment id the payments table keeps


@dataclass(kw_only=True, eq=False)
class FinesState(ServiceState[Settings]):
    policy: FinesPolicy  # the regime's (policy_for)
    # the wallet's payment confirmations; the gateway's keys are fetched on first use, once serving
    payment_verifier: PaymentConfirmationVerifier = field(init=False)
    worker: FinesWorker = field(init=False)  # started and stopped with the app

    def __post_init__(self) -> None:
        self.payment_verifier = PaymentConfirmationVerifier(
            lambda: self.services.fetch_peer_jwks(SIGNER), max_claim_length=MAX_CLAIM_LENGTH
        )
        self.worker = FinesWorker(self)


async def fines_state(request: Request) -> FinesState:
    return state_of(request.app, FinesState)


StateDep = Annotated[FinesState, Depends(fines_state)]


async def fines_settings(state: StateDep) -> Settings:
    return state.settings


async def fines_policy(state: StateDep) -> FinesPolicy:
    return state.policy


async def payment_verifier(state: StateDep) -> PaymentConfirmationVerifier:
    return state.payment_verifier


async def fines_worker(state: StateDep) -> FinesWorker:
    return state.worker


SettingsDep = Annotated[Settings, Depends(fines_settings)]
PolicyDep = Annotated[FinesPolicy, Depends(fines_policy)]
PaymentVerifierDep = Annotated[PaymentConfirmationVerifier, Depends(payment_verifier)]
WorkerDep = Annotated[FinesWorker, Depends(fines_worker)]
