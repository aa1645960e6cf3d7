from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kernel.database import UtcDateTime


class IdentityTable(SQLModel, registry=registry()):
    """Base of the identity service's own tables (its own metadata)."""


class UsedClientAssertion(IdentityTable, table=True):
    """Client assertion ids already seen, so a captured assertion cannot be replayed (RFC 7523 §3)."""

    __tablename__ = "used_client_assertion"
    client_jti: str = Field(primary_key=True, max_length=300)
    expires_at: datetime = Field(index=True)


class IssuedAccessToken(IdentityTable, table=True):
    """An audit row per issued token: which client got which permissions on whom (or for whom), until when."""

    __tablename__ = "issued_access_token"
    jti: str = Field(primary_key=True, max_length=100)
    client_id: str = Field(index=True, max_length=100)
    audience: str = Field(max_length=200)
    scope: str = Field(max_length=1000)
    # whose token, for userinfo: the token's sub is the relying party's pseudonym, not this id
    citizen_id: str | None = Field(default=None, max_length=36)
    issued_at: datetime
    expires_at: datetime


class Citizen(IdentityTable, table=True):
    """A person the provider can authenticate: the e-ID record (platform) or the national eID (rights)."""

    id: str = Field(primary_key=True, max_length=36)
    handle: str = Field(unique=True, index=True, max_length=64)  # login name
    resident_id: str = Field(unique=True, index=True, max_length=18)
    name: str = Field(max_length=200)
    phone: str = Field(unique=True, index=True, max_length=32)
    birth_date: date
    address: str = Field(max_length=300)
    real_name_verified: bool = True
    password_hash: str = Field(max_length=300)
    totp_secret: str = Field(max_length=128)  # hex; the second factor for eIDAS substantial
    totp_last_step: int | None = None  # RFC 6238 §5.2: a code is accepted once


class GuessCount(IdentityTable, table=True):
    """Attempts at a secret in the current window, per account and factor or per source address
    (``identity/attempts.py``): counted before the secret is checked."""

    __tablename__ = "guess_count"
    key: str = Field(primary_key=True, max_length=100)  # e.g. "password:<citizen id>", "source:<address>"
    attempts: int
    window_ends: datetime = Field(sa_type=UtcDateTime, index=True)


class SectorSubject(IdentityTable, table=True):
    """Which citizen a sector's subject denotes: one row per citizen per sector, written at enrolment.

    Lets a subject be linked back in one indexed lookup instead of computing every citizen's HMAC.
    As sensitive as the pairwise secret (it reverses every pseudonym), and like it never leaves
    this service. ``scheme`` names how the subjects were derived (``IdentityPolicy.subject_scheme``):
    rows of another scheme (a replaced secret, another regime) are stale and rebuilt at start-up.
    """

    __tablename__ = "sector_subject"
    __table_args__ = (UniqueConstraint("sector", "citizen_id"),)
    sector: str = Field(primary_key=True, max_length=32)
    subject: str = Field(primary_key=True, max_length=64)
    citizen_id: str = Field(foreign_key="citizen.id", index=True, max_length=36)
    scheme: str = Field(max_length=64)


class BrowserSession(IdentityTable, table=True):
    """A citizen's login at the provider (cookie ``citygate_idp``), with how strongly they authenticated."""

    __tablename__ = "browser_session"
    id: str = Field(primary_key=True, max_length=64)  # SHA-256 (hex) of the session id; the id is only in the cookie
    citizen_id: str = Field(foreign_key="citizen.id", index=True, max_length=36)
    csrf_token: str = Field(max_length=64)
    auth_time: datetime
    acr: str = Field(max_length=100)
    amr: str = Field(max_length=100)  # space-separated RFC 8176 values
    expires_at: datetime


class AuthorizationCode(IdentityTable, table=True):
    __tablename__ = "authorization_code"
    code: str = Field(primary_key=True, max_length=128)
    client_id: str = Field(index=True, max_length=100)
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36)
    redirect_uri: str = Field(max_length=500)
    scope: str = Field(max_length=500)
    nonce: str = Field(max_length=300)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=10)
    auth_time: datetime
    acr: str = Field(max_length=100)
    amr: str = Field(max_length=100)
    expires_at: datetime
    used_at: datetime | None = None
    # RFC 8707: the service the citizen's app asked a token for; None: this provider (relying parties)
    resource: str | None = Field(default=None, max_length=200)

    # Authlib's AuthorizationCodeMixin (OIDC flavour), read by the grant and the ID token.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(_as_utc(self.auth_time).timestamp())

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr.split()


def _as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for what was stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
