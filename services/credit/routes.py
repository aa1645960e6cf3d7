"""The platform's routes, for departments only (no citizen routes): thin, each parses the request,
calls one operation of ``domain`` and answers its result."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kernel.bounds import Reference
from kernel.dependencies import NowDep, SessionDep
from kernel.problems import problem_responses
from services.credit.auth import CreditQuerier, CreditReporter
from services.credit.dependencies import SettingsDep
from services.credit.domain import push_record, restrictions, settle_record
from services.credit.errors import ConflictingRecord, InvalidSubject, NotTheSource, RecordNotFound
from services.credit.models import CreditRecordCreate, CreditRecordPublic, RestrictionsPublic
from services.credit.rules import RestrictedService

router = APIRouter(tags=["credit"])


@router.post(
    "/records",
    status_code=status.HTTP_201_CREATED,
    summary="Report a record against a citizen",
    responses={
        **problem_responses(InvalidSubject, ConflictingRecord),
        200: {"model": CreditRecordPublic, "description": "Already reported: the existing record"},
    },
)
def report_record(
    body: CreditRecordCreate,
    response: Response,
    session: SessionDep,
    now: NowDep,
    caller: CreditReporter,
) -> CreditRecordPublic:
    record, created = push_record(session, body, source=caller.client_id, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return CreditRecordPublic.model_validate(record)


@router.post(
    "/records/{source}/{reference}/settlement",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report a record's debt settled; it stops restricting after the propagation lag",
    responses=problem_responses(NotTheSource, RecordNotFound),
)
def settle(
    source: Reference,
    reference: Reference,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    caller: CreditReporter,
) -> CreditRecordPublic:
    record = settle_record(
        session,
        source=source,
        reference=reference,
        settled_by=caller.client_id,
        lag=settings.settlement_lag,
        now=now,
    )
    return CreditRecordPublic.model_validate(record)


@router.get(
    "/subjects/{subject}/restrictions",
    summary="Is a citizen blacklisted for a service, and why",
    responses=problem_responses(InvalidSubject),
)
def subject_restrictions(
    subject: Reference,
    service: RestrictedService,
    session: SessionDep,
    now: NowDep,
    caller: CreditQuerier,
) -> RestrictionsPublic:
    return restrictions(session, subject, service, now=now)
