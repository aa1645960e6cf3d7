"""Who holds the citizen's digital ID card (journey 4): the super-app, or the citizen's device.

platform — WeChat hosts Guangzhou's digital ID: the super-app keeps the identity-service access
           token it receives at login, a key it holds for the citizen, and the card bound to that
           key; it presents the card (always whole: the platform card has nothing selectively
           disclosable) to whichever verifier the citizen names.
rights   — the card lives on the citizen's device, bound to a key that never leaves it; the
           super-app keeps no token for it and cannot present it (403 ``card-on-your-device``).

``GatewayPolicy.id_card`` is one of these; the login and the route ask it, never the regime.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Protocol

from fastapi.concurrency import run_in_threadpool
from joserfc.jwk import ECKey
from sqlmodel import Field

from identity.sd_jwt import SdJwtError, present
from kernel.database import UtcDateTime
from kernel.problems import Problem
from superapp_gateway.models import GatewayTable

ID_CARD_PATH = "/credentials/id-card"
# a card is fetched again this long before it expires, so a presentation never carries a dying card
RENEW_BEFORE = timedelta(minutes=5)


class HostedIdCard(GatewayTable, table=True):
    """Platform regime: the card the super-app holds for a citizen, and what it needs to get one."""

    __tablename__ = "hosted_id_card"
    subject: str = Field(primary_key=True, max_length=200)  # the session's subject: the resident ID
    # the identity service's access token from the citizen's last login (aud urn:citygate:identity)
    identity_access_token: str | None = Field(default=None, max_length=4000)
    token_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    holder_key: str | None = Field(default=None, max_length=1000)  # private P-256 JWK: the platform's key
    credential: str | None = Field(default=None, max_length=20000)  # the SD-JWT as issued
    card_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CardOnYourDevice(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "In this regime your ID card lives on your device, bound to a key only it holds: the super-app "
            "cannot show it. Your app presents it to the verifier itself, disclosing only what is asked.",
            kind="card-on-your-device",
        )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class PlatformHostedCard:
    """The super-app holds the card and presents it whole."""

    def keep_login_token(self, app, subject: str, access_token: str, expires_in: int | None) -> None:
        expires_at = datetime.now(UTC) + timedelta(seconds=int(expires_in or 300))
        with app.state.database.session() as session:
            row = session.get(HostedIdCard, subject) or HostedIdCard(subject=subject)
            row.identity_access_token, row.token_expires_at = access_token, expires_at
            session.add(row)
            session.commit()

    async def present(self, app, subject: str, *, audience: str, nonce: str) -> dict:
        row = await run_in_threadpool(self._row, app, subject)
        now = datetime.now(UTC)
        key = ECKey.import_key(json.loads(row.holder_key)) if row and row.holder_key else None
        if row is None or not row.credential or key is None or _aware(row.card_expires_at) - RENEW_BEFORE <= now:
            key = key or ECKey.generate_key("P-256", private=True)
            row = await self._fetch_card(app, subject, row, key, now)
        try:
            # nothing to choose: the platform card has no disclosures, every claim is in the signed payload
            presentation = present(row.credential, disclose=set(), holder_key=key, audience=audience, nonce=nonce)
        except SdJwtError as error:
            raise Problem(502, f"The hosted ID card could not be presented: {error}.", kind="card-unusable") from error
        return {"format": "dc+sd-jwt", "presentation": presentation, "audience": audience, "nonce": nonce}

    @staticmethod
    def _row(app, subject: str) -> HostedIdCard | None:
        with app.state.database.session() as session:
            return session.get(HostedIdCard, subject)

    async def _fetch_card(self, app, subject: str, row: HostedIdCard | None, key: ECKey, now: datetime) -> HostedIdCard:
        if row is None or not row.identity_access_token or _aware(row.token_expires_at) <= now:
            raise Problem(
                401,
                "The super-app has no valid identity token to fetch your ID card: log in again.",
                kind="login-again",
                headers={"WWW-Authenticate": 'Bearer realm="citygate super-app"'},
            )
        response = await app.state.http.post(
            app.state.settings.identity_url + ID_CARD_PATH,
            json={"holder_jwk": key.as_dict(private=False)},
            headers={"Authorization": f"Bearer {row.identity_access_token}"},
        )
        if response.status_code == 401:
            raise Problem(
                401,
                "The identity service refused the super-app's token for you: log in again.",
                kind="login-again",
                headers={"WWW-Authenticate": 'Bearer realm="citygate super-app"'},
            )
        if response.status_code != 200:
            raise Problem(
                502, f"The identity service did not issue the ID card ({response.status_code}).", kind="card-not-issued"
            )
        card = response.json()
        row.holder_key = json.dumps(key.as_dict(private=True))
        row.credential = card["credential"]
        row.card_expires_at = now + timedelta(seconds=int(card["expires_in"]))
        await run_in_threadpool(self._save, app, row)
        return row

    @staticmethod
    def _save(app, row: HostedIdCard) -> None:
        with app.state.database.session() as session:
            session.merge(row)
            session.commit()


class CardOnTheDevice:
    """The citizen's device holds the card; the super-app keeps nothing for it."""

    def keep_login_token(self, app, subject: str, access_token: str, expires_in: int | None) -> None:
        return None  # the token is dropped: the super-app has no use for it here

    async def present(self, app, subject: str, *, audience: str, nonce: str) -> dict:
        raise CardOnYourDevice()


class IdCardHolder(Protocol):
    def keep_login_token(self, app, subject: str, access_token: str, expires_in: int | None) -> None:
        """Called at every login with the identity service's access token for the citizen."""
        ...

    async def present(self, app, subject: str, *, audience: str, nonce: str) -> dict:
        """The citizen's card presented to ``audience`` over its ``nonce`` (or a Problem)."""
        ...
