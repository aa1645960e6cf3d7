"""The household registration office's desk at the identity provider: it enrols residents.

Its own operators only (``kernel.operators``: ``Authorization: Operator <secret>``), never a service or
a citizen. The same enrolment again answers 200 and changes nothing, so a population can be put in
again after an interruption; a handle, phone or resident ID enrolled for someone else is a 409.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from identity.dependencies import PolicyDep
from identity.enrolment import Enrolment, enrol_once
from identity.errors import AlreadyEnrolled, ResidentIdRefused
from kernel.dependencies import NowDep, SessionDep
from kernel.operators import Operator
from kernel.problems import problem_responses
from kernel.resident_id import CHINA_STANDARD_TIME, LENGTH

router = APIRouter(tags=["operators"])

# A login name starts with a letter, so it can never be read as a phone number (+…) or a resident ID
# (digits): the login form accepts all three in one field.
HANDLE_PATTERN = r"^[a-z][a-z0-9._-]{0,63}$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"  # E.164
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 8, 200
# RFC 4226 §4 asks for at least 128 bits of shared secret (160 recommended); 64 bytes is HMAC-SHA1's block.
MIN_TOTP_SECRET_BYTES, MAX_TOTP_SECRET_BYTES = 16, 64
MAX_TOTP_SECRET_BASE32 = 104  # 64 bytes in base32, with padding


def _totp_secret(value: str) -> str:
    """Base32 (RFC 4648) as authenticator apps show it: any case, spaces and padding optional."""
    compact = value.replace(" ", "").upper().rstrip("=")
    try:
        secret = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("not base32 (RFC 4648: the letters A-Z and the digits 2-7)") from None
    if not MIN_TOTP_SECRET_BYTES <= len(secret) <= MAX_TOTP_SECRET_BYTES:
        raise ValueError(
            f"the secret must be {MIN_TOTP_SECRET_BYTES} to {MAX_TOTP_SECRET_BYTES} bytes once decoded, "
            f"got {len(secret)}"
        )
    return compact


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ResidentEnrolment(BaseModel):
    """A resident as the household register records them, with the credentials they log in with."""

    handle: str = Field(pattern=HANDLE_PATTERN, max_length=64, examples=["r0001"], description="The login name")
    resident_id: str = Field(max_length=LENGTH, examples=["440106199001022321"])
    name: Annotated[Text, Field(max_length=200, examples=["王芳 (Wang Fang)"])]
    phone: str = Field(pattern=PHONE_PATTERN, max_length=16, examples=["+8613800000001"])
    address: Annotated[Text, Field(max_length=300)]
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    totp_secret: Annotated[
        str,
        Field(max_length=MAX_TOTP_SECRET_BASE32, description="The second factor's secret, base32 (RFC 4648)"),
        AfterValidator(_totp_secret),
    ]

    def enrolment(self) -> Enrolment:
        return Enrolment(
            handle=self.handle,
            resident_id=self.resident_id,
            name=self.name,
            phone=self.phone,
            address=self.address,
            password=self.password,
            totp_secret=base64.b32decode(self.totp_secret + "=" * (-len(self.totp_secret) % 8)),
        )


class EnrolledResident(BaseModel):
    handle: str
    resident_id: str = Field(description="As the provider keys on it (check character upper-case)")


@router.post(
    "/residents",
    status_code=status.HTTP_201_CREATED,
    summary="The household registration office enrols a resident (the same enrolment again: 200, nothing changed)",
    responses={
        **problem_responses(ResidentIdRefused, AlreadyEnrolled),
        200: {"model": EnrolledResident, "description": "Exactly this enrolment was made before: nothing changed"},
    },
)
async def enrol_resident(
    body: ResidentEnrolment,
    response: Response,
    session: SessionDep,
    policy: PolicyDep,
    now: NowDep,
    operator: Operator,
) -> EnrolledResident:
    # In the thread pool, where the password's scrypt hash may take its time. The route itself is async: a
    # sync route's answer waits for a thread of its own while its session still holds its connection, so a
    # burst can leave every thread waiting for a connection (docs/architecture.md, "Operators").
    citizen, created = await run_in_threadpool(
        enrol_once,
        session,
        policy=policy,
        enrolment=body.enrolment(),
        today=now.astimezone(CHINA_STANDARD_TIME).date(),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return EnrolledResident(handle=citizen.handle, resident_id=citizen.resident_id)
