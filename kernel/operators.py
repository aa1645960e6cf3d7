"""A service's own operators: the people and devices of the body that runs it, putting in the facts
it owns in reality — the household registration office enrolling residents at identity, the traffic
police's vehicle registry and cameras, the civil affairs bureau's marriage register, the hospital's
doctors. They are not other services (no access token, no entry in ``kernel.access``): they are the
department itself, at its own counter.

Their credential is a random 256-bit secret the service creates at its first start in its keys
directory (``operator-secret``, 0600, beside its signing key), presented as
``Authorization: Operator <secret>`` and compared in constant time. Whoever can read the service's
keys directory can act as its operator: the same trust as holding its signing key. The workshop's
``citygate populate`` reads it there, as the city's record-keepers would have it.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from kernel.keys import write_once
from kernel.problems import Problem, answers
from kernel.state import ServiceState, state_of

OPERATOR_SECRET_FILE = "operator-secret"
SCHEME = "Operator"
# bounds a presented credential before it is compared: a secret is 43 characters (32 bytes, base64url)
MAX_CREDENTIAL_LENGTH = 200


def load_or_create_operator_secret(keys_dir: Path) -> str:
    path = keys_dir / OPERATOR_SECRET_FILE
    if not path.exists():
        write_once(path, secrets.token_urlsafe(32).encode("ascii"))
    return operator_secret(keys_dir)


def operator_secret(keys_dir: Path) -> str:
    """The secret as stored (FileNotFoundError before the service's first start)."""
    return (keys_dir / OPERATOR_SECRET_FILE).read_text(encoding="ascii").strip()


def operator_headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"{SCHEME} {secret}"}


class OperatorUnauthenticated(Problem):
    """The call carries no operator credential, or one this service did not issue."""

    status, kind = 401, "operator-unauthenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": f'{SCHEME} realm="citygate"'})


@answers(OperatorUnauthenticated)
async def require_operator(request: Request) -> None:
    """FastAPI dependency: the call comes from the service's own operator."""
    presented = request.headers.get("authorization", "")
    scheme, _, credential = presented.partition(" ")
    if scheme.lower() != SCHEME.lower() or not credential or len(credential) > MAX_CREDENTIAL_LENGTH:
        raise OperatorUnauthenticated(f"This endpoint is for the service's own operators (Authorization: {SCHEME}).")
    expected = state_of(request.app, ServiceState).operator_secret
    if not hmac.compare_digest(credential.strip().encode("utf-8", "replace"), expected.encode("ascii")):
        raise OperatorUnauthenticated("The operator credential was refused.")


Operator = Annotated[None, Depends(require_operator)]
