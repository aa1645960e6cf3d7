"""Who holds the citizen's digital ID card (journey 4): the super-app, or the citizen's device.

platform — WeChat hosts Guangzhou's digital ID: the super-app keeps the identity-service access
           token it receives at login, a key it holds for the citizen, and the card bound to that
           key (``HostedIdCard``); it presents the card (always whole: the platform card has nothing
           selectively disclosable) to whichever verifier the citizen names.
rights   — the card lives on the citizen's device, bound to a key that never leaves it; the
           super-app keeps no token for it and cannot present it (403 ``card-on-your-device``).

``GatewayPolicy.id_card`` is one of these; the login and the route ask it, never the regime.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from fastapi.concurrency import run_in_threadpool
from joserfc.jwk import ECKey
from sqlmodel import Session

from kernel.database import Database
from kernel.sd_jwt import SdJwtError, present
from kernel.sd_jwt.encoding import split_parts, unverified_payload
from superapp_gateway.errors import CardNotIssued, CardOnYourDevice, CardUnusable, LoginAgain
from superapp_gateway.models import HostedIdCard

ID_CARD_PATH = "/credentials/id-card"
# a card is fetched again this long before it expires, so a presentation never carries a dying card
RENEW_BEFORE = timedelta(minutes=5)
CARD_FORMAT = "dc+sd-jwt"


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class IdCardHolder(Protocol):
    def keep_login_token(
        self, session: Session, subject: str, access_token: str, expires_in: int | None, now: datetime
    ) -> None:
        """Called at every login with the identity service's access token for the citizen."""
        ...

    async def present(
        self,
        database: Database,
        http: httpx.AsyncClient,
        identity_url: str,
        subject: str,
        *,
        audience: str,
        nonce: str,
        now: datetime,
    ) -> dict[str, str]:
        """The citizen's card presented to ``audience`` over its ``nonce`` (or a Problem); the card is
        fetched from the identity service at ``identity_url`` when there is none fresh enough."""
        ...

    async def claims(
        self, database: Database, http: httpx.AsyncClient, identity_url: str, subject: str, *, now: datetime
    ) -> dict[str, object]:
        """Everything the card says, as the holder shows it to the citizen (or a Problem)."""
        ...


class PlatformHostedCard:
    """The super-app holds the card and presents it whole."""

    def keep_login_token(
        self, session: Session, subject: str, access_token: str, expires_in: int | None, now: datetime
    ) -> None:
        row = session.get(HostedIdCard, subject) or HostedIdCard(subject=subject)
        row.identity_access_token = access_token
        row.token_expires_at = now + timedelta(seconds=int(expires_in or 300))
        session.add(row)
        session.commit()

    async def present(
        self,
        database: Database,
        http: httpx.AsyncClient,
        identity_url: str,
        subject: str,
        *,
        audience: str,
        nonce: str,
        now: datetime,
    ) -> dict[str, str]:
        row, key = await _fresh_card(database, http, identity_url, subject, now)
        assert row.credential is not None
        try:
            # nothing to choose: the platform card has no disclosures, every claim is in the signed payload
            presentation = present(row.credential, disclose=set(), holder_key=key, audience=audience, nonce=nonce)
        except SdJwtError as error:
            raise CardUnusable(error) from error
        return {"format": CARD_FORMAT, "presentation": presentation, "audience": audience, "nonce": nonce}

    async def claims(
        self, database: Database, http: httpx.AsyncClient, identity_url: str, subject: str, *, now: datetime
    ) -> dict[str, object]:
        row, _ = await _fresh_card(database, http, identity_url, subject, now)
        assert row.credential is not None
        try:
            # the card the identity service issued to the super-app: every claim is in its payload
            return dict(unverified_payload(split_parts(row.credential)[0]))
        except SdJwtError as error:
            raise CardUnusable(error) from error


class CardOnTheDevice:
    """The citizen's device holds the card; the super-app keeps nothing for it."""

    def keep_login_token(
        self, session: Session, subject: str, access_token: str, expires_in: int | None, now: datetime
    ) -> None:
        return None  # the token is dropped: the super-app has no use for it here

    async def present(
        self,
        database: Database,
        http: httpx.AsyncClient,
        identity_url: str,
        subject: str,
        *,
        audience: str,
        nonce: str,
        now: datetime,
    ) -> dict[str, str]:
        raise CardOnYourDevice()

    async def claims(
        self, database: Database, http: httpx.AsyncClient, identity_url: str, subject: str, *, now: datetime
    ) -> dict[str, object]:
        raise CardOnYourDevice()


async def _fresh_card(
    database: Database, http: httpx.AsyncClient, identity_url: str, subject: str, now: datetime
) -> tuple[HostedIdCard, ECKey]:
    """The card the super-app holds for the citizen and its key, fetched again when none is fresh enough."""
    row = await run_in_threadpool(_row, database, subject)
    key = ECKey.import_key(json.loads(row.holder_key)) if row and row.holder_key else None
    card_expires = _aware(row.card_expires_at) if row else None
    if row is None or not row.credential or key is None or card_expires is None or card_expires - RENEW_BEFORE <= now:
        key = key or ECKey.generate_key("P-256", private=True)
        row = await _fetch_card(database, http, identity_url, subject, row, key, now)
    return row, key


def _row(database: Database, subject: str) -> HostedIdCard | None:
    with database.session() as session:
        return session.get(HostedIdCard, subject)


def _save(database: Database, row: HostedIdCard) -> None:
    with database.session() as session:
        session.merge(row)
        session.commit()


async def _fetch_card(
    database: Database,
    http: httpx.AsyncClient,
    identity_url: str,
    subject: str,
    row: HostedIdCard | None,
    key: ECKey,
    now: datetime,
) -> HostedIdCard:
    token_expires = _aware(row.token_expires_at) if row else None
    if row is None or not row.identity_access_token or token_expires is None or token_expires <= now:
        raise LoginAgain("The super-app has no valid identity token to fetch your ID card: log in again.")
    response = await http.post(
        identity_url + ID_CARD_PATH,
        json={"holder_jwk": key.as_dict(private=False)},
        headers={"Authorization": f"Bearer {row.identity_access_token}"},
    )
    if response.status_code == 401:
        raise LoginAgain("The identity service refused the super-app's token for you: log in again.")
    if response.status_code != 200:
        raise CardNotIssued(response.status_code)
    card = response.json()
    row.holder_key = json.dumps(key.as_dict(private=True))
    row.credential = card["credential"]
    row.card_expires_at = now + timedelta(seconds=int(card["expires_in"]))
    await run_in_threadpool(_save, database, row)
    return row
