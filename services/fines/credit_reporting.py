"""What the traffic police tell the national credit-sharing platform — in the platform regime only.

The regime's difference is ONE object, chosen in ``services.fines.policy``:

- platform: an overdue fine is reported (``POST /records`` at the credit service, kind
  ``overdue-fine``, keyed on the owner's resident ID), and paying a reported fine reports the
  settlement (``POST /records/fines/{reference}/settlement``);
- rights: nothing is reported and nothing is written for it (there is no credit service).

Reliability is a transactional outbox: the policy writes an entry in the same transaction as
the state change it describes (the sweep's "overdue", the payment's "paid"), so neither exists
without the other. ``drain_credit_outbox`` then delivers pending entries oldest first and marks
each delivered; the background worker runs it, and tests call it directly. Delivery is at least
once: an entry sent but not yet marked (a crash in between) is sent again, which the credit
service absorbs (a push is idempotent on source + reference, a second settlement changes
nothing). A credit service that is down leaves every entry pending for the next attempt, and a
fine's settlement is never sent before its report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import update
from sqlmodel import Session, col, select

from kernel.client import ServiceClient, UpstreamUnavailable, raise_for_upstream_problem
from kernel.clock import Clock, utc_now
from kernel.database import Database
from kernel.problems import Problem, kind_of
from services.fines.models import CreditOutboxEntry, Fine, OutboxAction

log = logging.getLogger("citygate.fines.credit")

CREDIT = "credit"
RECORD_KIND = "overdue-fine"
MAX_ERROR_LENGTH = 500


class CreditReporting(Protocol):
    """What the regime does when a fine falls overdue or is paid (inside that transaction)."""

    reports: bool

    def fine_became_overdue(
        self, session: Session, fine: Fine, owner_ref: str, *, overdue_at: datetime, now: datetime
    ) -> None: ...

    def fine_was_paid(self, session: Session, fine: Fine, *, now: datetime) -> None: ...


class ReportToCreditPlatform:
    """Platform regime: "loss of credit in one area is punished in all areas"."""

    reports = True

    def fine_became_overdue(
        self, session: Session, fine: Fine, owner_ref: str, *, overdue_at: datetime, now: datetime
    ) -> None:
        assert fine.id is not None
        session.add(
            CreditOutboxEntry(
                action=OutboxAction.REPORT,
                fine_id=fine.id,
                subject=owner_ref,
                amount_cents=fine.amount_cents,
                occurred_at=overdue_at,
                created_at=now,
            )
        )

    def fine_was_paid(self, session: Session, fine: Fine, *, now: datetime) -> None:
        # Only what the platform was told about needs settling; a fine paid before the sweep
        # marked it overdue never reached the platform.
        assert fine.id is not None
        reported = session.exec(
            select(CreditOutboxEntry.id).where(
                CreditOutboxEntry.fine_id == fine.id,
                CreditOutboxEntry.action == OutboxAction.REPORT,
            )
        ).first()
        if reported is not None:
            session.add(
                CreditOutboxEntry(
                    action=OutboxAction.SETTLE,
                    fine_id=fine.id,
                    amount_cents=fine.amount_cents,
                    occurred_at=fine.paid_at or now,
                    created_at=now,
                )
            )


class ReportNothing:
    """Rights regime: a fine concerns the traffic police and the citizen, nobody else."""

    reports = False

    def fine_became_overdue(
        self, session: Session, fine: Fine, owner_ref: str, *, overdue_at: datetime, now: datetime
    ) -> None:
        return None

    def fine_was_paid(self, session: Session, fine: Fine, *, now: datetime) -> None:
        return None


# --- the outbox ---------------------------------------------------------------------------------


def pending_entries(session: Session, limit: int = 100) -> list[CreditOutboxEntry]:
    return list(
        session.exec(
            select(CreditOutboxEntry)
            .where(col(CreditOutboxEntry.delivered_at).is_(None))
            .order_by(col(CreditOutboxEntry.id))
            .limit(limit)
        ).all()
    )


def mark_delivered(session: Session, entry_id: int, now: datetime) -> None:
    session.exec(
        update(CreditOutboxEntry)
        .where(col(CreditOutboxEntry.id) == entry_id, col(CreditOutboxEntry.delivered_at).is_(None))
        .values(delivered_at=now, attempts=CreditOutboxEntry.attempts + 1, last_error=None)
    )
    session.commit()


def mark_failed(session: Session, entry_id: int, error: str) -> None:
    session.exec(
        update(CreditOutboxEntry)
        .where(col(CreditOutboxEntry.id) == entry_id, col(CreditOutboxEntry.delivered_at).is_(None))
        .values(attempts=CreditOutboxEntry.attempts + 1, last_error=error[:MAX_ERROR_LENGTH])
    )
    session.commit()


@dataclass
class DrainReport:
    delivered: list[int] = field(default_factory=list)  # outbox entry ids
    failed: list[int] = field(default_factory=list)
    # True when the credit service (or the identity service, for its token) could not be
    # reached: the pass stopped there and everything after it is still pending
    unreachable: bool = False


def _in_session(database: Database, operation: Callable, *args):
    with database.session() as session:
        return operation(session, *args)


async def _deliver(services: ServiceClient, entry: CreditOutboxEntry, source: str) -> None:
    reference = str(entry.fine_id)
    if entry.action == OutboxAction.REPORT:
        response = await services.request(
            CREDIT,
            "POST",
            "/records",
            json={
                "subject": entry.subject,
                "kind": RECORD_KIND,
                "reference": reference,
                "amount_cents": entry.amount_cents,
                "recorded_at": entry.occurred_at.isoformat(),
            },
        )
    else:
        response = await services.request(
            CREDIT,
            "POST",
            f"/records/{quote(source, safe='')}/{quote(reference, safe='')}/settlement",
        )
    raise_for_upstream_problem(CREDIT, response)


async def drain_credit_outbox(
    database: Database,
    services: ServiceClient,
    *,
    clock: Clock = utc_now,
    limit: int = 100,
) -> DrainReport:
    """Deliver pending outbox entries to the credit service, oldest first, and mark each delivered.

    An unreachable credit (or identity) service stops the pass: everything stays pending. An
    entry the credit service refuses is kept with its error and retried next time; the same
    fine's later entries wait behind it (a settlement never overtakes its report).
    """
    source = services.tokens.client_id  # the credit platform knows us by our client id
    report = DrainReport()
    entries = await run_in_threadpool(_in_session, database, pending_entries, limit)
    held_back: set[int] = set()
    for entry in entries:
        assert entry.id is not None
        if entry.fine_id in held_back:
            continue
        try:
            await _deliver(services, entry, source)
        except UpstreamUnavailable as error:
            await run_in_threadpool(_in_session, database, mark_failed, entry.id, str(error))
            report.failed.append(entry.id)
            report.unreachable = True
            log.warning(
                "credit outbox: %s unreachable; %d entries left pending",
                error.extensions.get("upstream"),
                len(entries) - len(report.delivered),
            )
            break
        except Problem as error:  # refused (4xx), or the platform failed (502): keep it for later
            await run_in_threadpool(_in_session, database, mark_failed, entry.id, str(error))
            report.failed.append(entry.id)
            held_back.add(entry.fine_id)
            # the refusal's text may quote the resident ID: it stays in the entry, not in the log
            log.warning(
                "credit outbox: entry %d (%s fine %d) refused: %d %s",
                entry.id,
                entry.action.value,
                entry.fine_id,
                error.status,
                kind_of(error.type) or error.type,
            )
            continue
        await run_in_threadpool(_in_session, database, mark_delivered, entry.id, clock())
        report.delivered.append(entry.id)
        log.info("credit outbox: delivered %s of fine %d", entry.action.value, entry.fine_id)
    return report
