"""The wallet's background duty: retry pending payments until their department takes or refuses them.

One asyncio task per gateway app, started and stopped by the app's ``on_startup`` /
``on_shutdown`` hooks (``superapp_gateway.app``) and kept in its state (``GatewayState.wallet_retrier``).
A pass runs at start (payments a previous process left pending go first), then every
``wallet_retry_seconds`` (read at each pass) and whenever ``wake()`` is called. A pass takes only
payments no attempt has touched for ``department_timeout_seconds``: an attempt in progress ends
within that time, so this leaves the citizen's own request (and an on-demand retry) alone.
Overlapping attempts would still be safe — the department sees one Idempotency-Key, and the wallet
leaves ``pending`` once — only wasteful. Within a pass, a department that gave no answer is not
asked again until the next pass.

A payment whose department keeps giving no answer is not dropped (it may have been taken: only the
department can say) but asked less often — ``backoff_seconds``: the interval, doubled per attempt,
at most ``MAX_BACKOFF_SECONDS`` — and logged as a warning from ``ATTENTION_AFTER_ATTEMPTS`` on, for an
operator to look at the department.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from kernel.periodic import PeriodicTask
from kernel.state import state_of
from superapp_gateway import wallet
from superapp_gateway.department_payments import Cashier, attempt
from superapp_gateway.dependencies import GatewayState
from superapp_gateway.models import WalletPayment

log = logging.getLogger("citygate.gateway.retrier")
MAX_BACKOFF_SECONDS = 300.0
ATTENTION_AFTER_ATTEMPTS = 10


def backoff_seconds(attempts: int, interval: float) -> float:
    """How long a payment that ``attempts`` calls left unsettled waits before the next one."""
    return min(interval * 2 ** max(attempts - 1, 0), max(interval, MAX_BACKOFF_SECONDS))


class PendingPaymentRetrier(PeriodicTask):
    name = "wallet-retrier"

    def __init__(self, state: GatewayState) -> None:
        super().__init__()
        self.state = state

    @property
    def interval_seconds(self) -> float:
        return self.state.settings.wallet_retry_seconds

    async def pass_once(self) -> int:
        """One pass over the due payments; returns how many were settled (completed or cancelled)."""
        settled = 0
        unanswered: set[str] = set()
        cashier = Cashier.of(self.state)  # the settings as they are at this pass
        for payment in await run_in_threadpool(self._due):
            if payment.payee in unanswered:
                continue
            stored, answer = await attempt(cashier, payment)
            if answer.verdict == "no-answer":
                unanswered.add(payment.payee)
                if stored.attempts >= ATTENTION_AFTER_ATTEMPTS:
                    log.warning(
                        "payment %s to %s still pending after %d attempts (%s): the department needs attention",
                        stored.id,
                        stored.payee,
                        stored.attempts,
                        answer.reason,
                    )
            elif stored.status is not payment.status:
                settled += 1
        return settled

    def _due(self) -> list[WalletPayment]:
        settings = self.state.settings

        def wait_after(attempts: int) -> timedelta:
            # never within the department timeout of the last attempt, which may still be under way
            return timedelta(
                seconds=max(
                    settings.department_timeout_seconds, backoff_seconds(attempts, settings.wallet_retry_seconds)
                )
            )

        with self.state.database.session() as session:
            return list(wallet.due_for_retry(session, now=self.state.clock(), wait_after=wait_after))


def start_retrier(app: FastAPI) -> None:
    state = state_of(app, GatewayState)
    state.wallet_retrier = PendingPaymentRetrier(state)
    # of several replicas, one retries the pending payments
    state.wallet_retrier.start(lease=state.lease(PendingPaymentRetrier.name))


async def stop_retrier(app: FastAPI) -> None:
    retrier = state_of(app, GatewayState).wallet_retrier
    if retrier is not None:
        await retrier.stop()
