"""Overdue fines reach the credit-sharing platform — in the platform regime and only there — through
the outbox, against the real credit service, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from sqlmodel import col, select

from kernel.regime import Regime
from kernel.state import ServiceState, state_of
from services.credit.models import CreditRecord
from services.fines.credit_reporting import drain_credit_outbox
from services.fines.demo import CAR_OWNER, DEFAULTER
from services.fines.dependencies import FinesState
from services.fines.domain import CHINA_STANDARD_TIME
from services.fines.models import CreditOutboxEntry, Fine, FineStatus, OutboxAction
from tests.fixtures.fines import citizen_fines, confirmation, post_payment, subject_of
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.mesh import Mesh
from tests.fixtures.narrowing import present

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("fines", "credit")]

SOME_TIME = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def outbox(mesh: Mesh) -> list[CreditOutboxEntry]:
    with state_of(mesh.apps["fines"], FinesState).database.session() as session:
        return list(session.exec(select(CreditOutboxEntry).order_by(col(CreditOutboxEntry.id))).all())


def credit_record(mesh: Mesh, fine_id: int) -> CreditRecord | None:
    with state_of(mesh.apps["credit"], ServiceState).database.session() as session:
        return session.exec(
            select(CreditRecord).where(CreditRecord.source == "fines", CreditRecord.reference == str(fine_id))
        ).first()


def recorded(mesh: Mesh, fine_id: int) -> CreditRecord:
    record = credit_record(mesh, fine_id)
    assert record is not None, f"the credit platform has no record of fine {fine_id}"
    return record


def stored_status(mesh: Mesh, fine_id: int) -> FineStatus:
    with state_of(mesh.apps["fines"], FinesState).database.session() as session:
        fine = session.get(Fine, fine_id)
        assert fine is not None
        return fine.status


async def drain(mesh: Mesh):
    fines = state_of(mesh.apps["fines"], FinesState)
    return await drain_credit_outbox(fines.database, fines.services, clock=fines.clock)


async def pay(mesh: Mesh, persona, fine: dict, key: str):
    statement = confirmation(mesh, fine, payer=await subject_of(mesh, persona), key=key)
    response = await post_payment(mesh, fine["id"], {"confirmation": statement}, key=key)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_on_the_platform_an_overdue_fine_is_reported_and_its_payment_settles_it(mesh):
    [fine] = await citizen_fines(mesh, DEFAULTER)
    # the seed already woke it; one more pass is harmless
    await state_of(mesh.apps["fines"], FinesState).worker.run_once()
    assert stored_status(mesh, fine["id"]) == FineStatus.OVERDUE
    [report] = outbox(mesh)
    assert report.action == OutboxAction.REPORT and report.delivered_at is not None
    record = present(credit_record(mesh, fine["id"]))
    # keyed on the resident ID: the platform regime's universal identifier
    assert (record.subject, record.kind, record.amount_cents) == (DEFAULTER.resident_id, "overdue-fine", 20000)
    assert record.settled_at is None

    await pay(mesh, DEFAULTER, fine, key="chen-jun-pays")
    await drain(mesh)  # the payment woke the worker too; whichever delivers first, the other changes nothing
    assert [(entry.action, entry.delivered_at is not None) for entry in outbox(mesh)] == [
        (OutboxAction.REPORT, True),
        (OutboxAction.SETTLE, True),
    ]
    assert present(credit_record(mesh, fine["id"])).settled_at is not None
    # draining again sends nothing: every entry is delivered
    assert (await drain(mesh)).delivered == []


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_a_credit_service_that_is_down_loses_nothing(mesh):
    fines = state_of(mesh.apps["fines"], FinesState)
    worker = fines.worker
    await worker.run_once()  # Chen Jun's report is out of the way
    credit_host = urlsplit(mesh.urls["credit"]).netloc
    mesh.stop("credit")

    first = (await citizen_fines(mesh, CAR_OWNER))[0]
    assert first["status"] == "unpaid"
    # the day after Li Wei's first fine fell due (Guangzhou), it is overdue too
    day_after = date.fromisoformat(first["due_date"]) + timedelta(days=1)
    fines.clock = lambda: datetime.combine(day_after, time(9, 0), CHINA_STANDARD_TIME)
    first = (await citizen_fines(mesh, CAR_OWNER))[0]
    assert first["status"] == "overdue"  # shown at once, before any sweep
    report = await worker.run_once()
    assert report.unreachable and report.delivered == []
    [pending] = [entry for entry in outbox(mesh) if entry.fine_id == first["id"]]
    assert pending.delivered_at is None and pending.attempts >= 1 and "credit" in present(pending.last_error)
    # paid while the platform is still unreachable: the settlement queues behind the report
    await pay(mesh, CAR_OWNER, first, key="li-wei-pays")
    assert (await drain(mesh)).unreachable
    assert credit_record(mesh, first["id"]) is None

    mesh.transport.down.discard(credit_host)
    report = await drain(mesh)
    assert not report.unreachable and report.failed == []
    entries = [entry for entry in outbox(mesh) if entry.fine_id == first["id"]]
    assert [(entry.action, entry.delivered_at is not None) for entry in entries] == [
        (OutboxAction.REPORT, True),
        (OutboxAction.SETTLE, True),
    ]
    record = present(credit_record(mesh, first["id"]))
    assert record.subject == CAR_OWNER.resident_id and record.settled_at is not None
    # one record per fine on the platform, however often it was attempted
    with state_of(mesh.apps["credit"], ServiceState).database.session() as session:
        references = session.exec(select(CreditRecord.reference).where(CreditRecord.source == "fines")).all()
    assert sorted(references) == sorted({str(entry.fine_id) for entry in outbox(mesh)})


@pytest.mark.parametrize("regime", [Regime.PLATFORM])
async def test_a_refused_report_is_kept_and_holds_back_its_settlement(mesh, caplog):
    """The platform refuses a report (here: a subject that is no resident ID); the entry stays
    pending with the reason, and the same fine's settlement is not sent ahead of it. The log
    says that it was refused and why in general, but not the refusal's text, which quotes the ID."""
    caplog.set_level(logging.INFO)
    mistyped = "110105194912310021"  # a wrong check character: the refusal quotes the first 17 digits
    fines = state_of(mesh.apps["fines"], FinesState)
    await fines.worker.run_once()
    with fines.database.session() as session:
        fine = session.exec(select(Fine).order_by(col(Fine.id))).first()
        assert fine is not None and fine.id is not None
        session.add(
            CreditOutboxEntry(
                action=OutboxAction.REPORT,
                fine_id=fine.id,
                subject=mistyped,
                amount_cents=1,
                occurred_at=SOME_TIME,
                created_at=SOME_TIME,
            )
        )
        session.add(
            CreditOutboxEntry(
                action=OutboxAction.SETTLE, fine_id=fine.id, amount_cents=1, occurred_at=SOME_TIME, created_at=SOME_TIME
            )
        )
        session.commit()
    report = await drain(mesh)
    assert not report.unreachable and len(report.failed) == 1
    refused, held = [entry for entry in outbox(mesh) if entry.fine_id == fine.id]
    assert refused.delivered_at is None and "resident identity number" in present(refused.last_error)
    assert held.delivered_at is None and held.attempts == 0
    assert mistyped[:17] in present(refused.last_error)  # kept for the operator, in the private database
    logged = [record.getMessage() for record in caplog.records]
    assert any("invalid-subject" in message for message in logged), logged
    assert not any(mistyped[:17] in message for message in logged), logged


@pytest.mark.parametrize("regime", [Regime.RIGHTS])
async def test_in_the_rights_regime_nothing_is_reported_and_nothing_queued(mesh):
    fines = state_of(mesh.apps["fines"], FinesState)
    assert "credit" not in fines.settings.peers and "credit" not in mesh.apps
    [fine] = await citizen_fines(mesh, DEFAULTER)
    assert fine["status"] == "overdue"
    assert await fines.worker.run_once() is None  # swept, nothing to drain
    assert stored_status(mesh, fine["id"]) == FineStatus.OVERDUE
    await pay(mesh, DEFAULTER, fine, key="chen-jun-pays")
    assert outbox(mesh) == []


async def test_the_worker_runs_with_the_app_and_stops_with_it(regime, tmp_path):
    async with Mesh(regime, tmp_path, started=("fines",)) as running:
        worker = state_of(running.apps["fines"], FinesState).worker
        assert worker.running
        task = worker._task
    assert not worker.running and task.done()
    assert worker.passes >= 1
