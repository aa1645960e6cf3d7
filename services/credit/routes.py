from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from kernel.bounds import Reference
from kernel.dependencies import SessionDep
from kernel.tokens import caller_with
from services.credit.domain import push_record, restrictions, settle_record
from services.credit.models import CreditRecordCreate, CreditRecordPublic, RestrictionsPublic
from services.credit.rules import RestrictedService
from services.credit.settings import Settings

router = APIRouter(tags=["credit"])


def utc_now() -> datetime:
    """The platform's clock, a dependency so a test (or a workshop) can move it past a settlement's lag."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(utc_now)]


@router.post(
    "/records",
    status_code=status.HTTP_201_CREATED,
    summary="Report a record against a citizen",
    responses={200: {"model": CreditRecordPublic, "description": "Already reported: the existing record"}},
)
def report_record(
    body: CreditRecordCreate,
    response: Response,
    session: SessionDep,
    now: Now,
    caller: caller_with("credit:report"),
) -> CreditRecordPublic:
    record, created = push_record(session, body, source=caller.client_id, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return CreditRecordPublic.model_validate(record)


@router.post(
    "/records/{source}/{reference}/settlement",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report a record's debt settled; it stops restricting after the propagation lag",
)
def settle(
    source: Reference,
    reference: Reference,
    request: Request,
    session: SessionDep,
    now: Now,
    caller: caller_with("credit:report"),
) -> CreditRecordPublic:
    settings: Settings = request.app.state.settings
    record = settle_record(
        session,
        source=source,
        reference=reference,
        settled_by=caller.client_id,
        lag=timedelta(seconds=settings.settlement_lag_seconds),
        now=now,
    )
    return CreditRecordPublic.model_validate(record)


@router.get("/subjects/{subject}/restrictions", summary="Is a citizen blacklisted for a service, and why")
def subject_restrictions(
    subject: Reference,
    service: RestrictedService,
    session: SessionDep,
    now: Now,
    caller: caller_with("credit:query"),
) -> RestrictionsPublic:
    return restrictions(session, subject, service, now=now)
