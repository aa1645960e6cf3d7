"""The blind courier: the super-app relays a citizen's request to a department without reading it.

The citizen's device seals the request (method, a ``/me/...`` path, the body, ITS OWN access token
for the department, and a one-time public reply key) in a compact JWE to the department's published
encryption key. The gateway posts that envelope to the department's ``POST /courier`` with its own
service token; the department opens it, calls itself in-process as the citizen (so its normal
``CurrentCitizen`` check applies), and seals the answer to the reply key. The gateway sees two
opaque strings and their sizes, and holds no token with which it could act as the citizen; it
cannot forge an answer either, since the reply key travels only inside the sealed request.

Envelopes: compact JWE, ``alg`` ``ECDH-ES+A256KW``, ``enc`` ``A256GCM``, ``typ`` ``courier+jwe``
(anything else is refused before any key is used); the plaintext is one JSON object
(``CourierRequest`` inbound, ``{"status", "content_type", "body"}`` outbound).

Replay: the gateway keeps every envelope it relays, and the citizen's token inside stays valid for
minutes. So a sealed request carries ``sent_at`` and is accepted only within ``MAX_ENVELOPE_AGE``,
and the department remembers each request's one-time reply key for that long: the same envelope
twice is refused (409 ``envelope-replayed``) before anything runs. The memory is per process — a
department run as several workers behind a balancer would need a shared store for it.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from kernel.envelope_replays import CLOCK_SKEW, MAX_ENVELOPE_AGE, ReplayMemoryUnavailable
from kernel.in_clear import note_opened
from kernel.keys import ENCRYPTION_ALGORITHM
from kernel.observability import outgoing_trace_headers
from kernel.problems import Problem, answers, problem_responses
from kernel.state import ServiceState, state_of
from kernel.tokens import SERVICE_CALLER_PROBLEMS, Credentials, RequirePermission, ServiceCaller

ENVELOPE_TYPE = "courier+jwe"
CONTENT_ENCRYPTION = "A256GCM"
ALGORITHMS = (ENCRYPTION_ALGORITHM, CONTENT_ENCRYPTION)
REPLY_CURVE = "P-256"
COURIER_PATH = "/courier"
CITIZEN_PREFIX = "/me/"
Method = Literal["GET", "POST", "DELETE"]
# The outer body {"envelope": "…"} must fit the services' 64 KiB request limit (kernel/limits.py).
MAX_ENVELOPE_CHARS = 63 * 1024
# Header members we understand; "zip" in particular is refused (compression leaks plaintext length
# patterns and invites decompression bombs), as is anything a future sender might expect honoured.
_HEADER_MEMBERS = frozenset({"alg", "enc", "typ", "kid", "epk", "apu", "apv", "cty"})
# Encoded slashes, backslashes and dots: what could make the path mean another route after decoding.
_SMUGGLING = ("%2f", "%5c", "%2e", "\\", "//", "#")


class InvalidEnvelope(ValueError):
    """Not an envelope this party can open: wrong algorithms or type, another key, tampered, bad JSON."""


class PathRefused(ValueError):
    """The sealed request names a path the courier may not reach (only the citizen's ``/me/...``)."""


# What ``POST /courier`` answers with when it relays nothing (an answer it relays is sealed inside).


class EnvelopeRefused(Problem):
    """The envelope is not one this department can open and act on (``InvalidEnvelope``)."""

    status, kind = 400, "invalid-envelope"

    def __init__(self, reason: InvalidEnvelope) -> None:
        super().__init__(f"The envelope was refused: {reason}.")


class CourierPathRefused(Problem):
    """The sealed request names a path the courier does not relay (``PathRefused``)."""

    status, kind = 400, "courier-path-refused"

    def __init__(self, reason: PathRefused) -> None:
        super().__init__(f"The sealed request's path was refused: {reason}.")


class EnvelopeReplayed(Problem):
    """The same sealed request again: a request is answered once."""

    status, kind = 409, "envelope-replayed"

    def __init__(self) -> None:
        super().__init__(
            "This sealed request was relayed before; a request is answered once. Seal it "
            "again (with a new reply key) to ask again."
        )


# --- sealing and opening (both sides) -------------------------------------------------------------


def seal(message: dict[str, Any], recipient: ECKey, *, kid: str | None = None) -> str:
    """``message`` as JSON, encrypted to ``recipient``'s public key."""
    header = {"alg": ENCRYPTION_ALGORITHM, "enc": CONTENT_ENCRYPTION, "typ": ENVELOPE_TYPE}
    if kid:
        header["kid"] = kid
    plaintext = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    public = ECKey.import_key(recipient.as_dict(private=False))  # never encrypt with the private part at hand
    return jwe.encrypt_compact(header, plaintext, public, algorithms=list(ALGORITHMS))


def unseal(envelope: str, key: ECKey) -> dict[str, Any]:
    """The JSON object inside ``envelope``, which ``key`` (private) must open; InvalidEnvelope otherwise."""
    _check_header(envelope)
    try:
        opened = jwe.decrypt_compact(envelope, key, algorithms=list(ALGORITHMS))
        message = json.loads(opened.plaintext or b"")
    except (JoseError, ValueError, TypeError, RecursionError) as error:  # wrong key, tampered, not JSON
        raise InvalidEnvelope("the envelope does not open with this key") from error
    if not isinstance(message, dict):
        raise InvalidEnvelope("the envelope does not hold a JSON object")
    return message


def _check_header(envelope: str) -> None:
    # Read before any key is touched, as kernel/tokens.py does for JWS: the allow-list is ours,
    # not whatever the library would accept.
    parts = envelope.split(".")
    if len(parts) != 5:
        raise InvalidEnvelope("not a compact JWE")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, TypeError) as error:
        raise InvalidEnvelope("the envelope's header is not JSON") from error
    if not isinstance(header, dict):
        raise InvalidEnvelope("the envelope's header is not a JSON object")
    if (header.get("alg"), header.get("enc")) != ALGORITHMS:
        raise InvalidEnvelope(f"alg/enc {header.get('alg')!r}/{header.get('enc')!r} are not accepted")
    if header.get("typ") != ENVELOPE_TYPE:
        raise InvalidEnvelope(f"typ must be {ENVELOPE_TYPE!r}")
    if unknown := set(header) - _HEADER_MEMBERS:
        raise InvalidEnvelope(f"header members {sorted(unknown)} are not accepted")


def public_reply_key(value: Any) -> ECKey:
    """A reply key as the request carries it: a public EC P-256 JWK and nothing more."""
    if not isinstance(value, dict) or value.get("kty") != "EC" or value.get("crv") != REPLY_CURVE:
        raise InvalidEnvelope(f"the reply key must be an EC {REPLY_CURVE} JWK")
    if "d" in value:
        raise InvalidEnvelope("the reply key carries a private part: the device must keep it")
    try:
        key = ECKey.import_key(value)
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidEnvelope("the reply key is not a valid EC public key") from error
    if key.is_private:
        raise InvalidEnvelope("the reply key carries a private part")
    return key


# --- the citizen's device -------------------------------------------------------------------------


@dataclass(frozen=True)
class CourierResponse:
    status: int
    content_type: str
    body: Any  # the department's JSON answer, or its text when it was not JSON


def encryption_key_of(jwks: dict[str, Any]) -> ECKey:
    """The department's published encryption key (``use: enc``) from its JWKS document."""
    for entry in jwks.get("keys", []):
        if (
            isinstance(entry, dict)
            and entry.get("use") == "enc"
            and entry.get("alg") == ENCRYPTION_ALGORITHM
            and entry.get("crv") == REPLY_CURVE
            and "d" not in entry
        ):
            key = ECKey.import_key(entry)
            key.ensure_kid()
            return key
    raise ValueError(f"the key set publishes no {ENCRYPTION_ALGORITHM} encryption key")


def seal_request(
    department_jwks: dict[str, Any],
    *,
    method: str,
    path: str,
    body: Any,
    token: str,
    idempotency_key: str | None = None,
) -> tuple[str, ECKey]:
    """The envelope for one request, and the one-time private key that alone opens its answer."""
    department = encryption_key_of(department_jwks)
    reply_key = ECKey.generate_key(REPLY_CURVE, private=True)
    message = {
        "method": method,
        "path": path,
        "body": body,
        "token": token,
        "idempotency_key": idempotency_key,
        "reply_key": reply_key.as_dict(private=False),
        "sent_at": int(time.time()),
    }
    return seal(message, department, kid=department.kid), reply_key


def open_response(envelope: str, reply_key: ECKey) -> CourierResponse:
    message = unseal(envelope, reply_key)
    status, content_type = message.get("status"), message.get("content_type")
    if not isinstance(status, int) or isinstance(status, bool) or not isinstance(content_type, str):
        raise InvalidEnvelope("the answer names no status and content type")
    return CourierResponse(status=status, content_type=content_type, body=message.get("body"))


# --- the department -------------------------------------------------------------------------------


class CourierRequest(BaseModel):
    """What a sealed request must hold; nothing else (``extra`` is refused, so no headers ride along)."""

    model_config = ConfigDict(extra="forbid")

    method: Method
    path: StrictStr = Field(min_length=len(CITIZEN_PREFIX), max_length=2000)
    body: Any = None
    token: StrictStr = Field(min_length=1, max_length=8192)
    idempotency_key: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    reply_key: dict[str, Any]
    sent_at: StrictInt = Field(description="When the device sealed it, seconds since the epoch")


def courier_request(message: dict[str, Any], *, now: float) -> tuple[CourierRequest, ECKey]:
    """The validated request and its reply key; InvalidEnvelope or PathRefused otherwise."""
    try:
        request = CourierRequest.model_validate(message)
    except ValidationError as error:
        raise InvalidEnvelope(f"the sealed request is malformed: {error.errors()[0]['msg']}") from error
    if not now - MAX_ENVELOPE_AGE <= request.sent_at <= now + CLOCK_SKEW:
        raise InvalidEnvelope(
            f"the sealed request was sent at {request.sent_at}, not within the last {MAX_ENVELOPE_AGE} s: seal it again"
        )
    reply_key = public_reply_key(request.reply_key)
    check_path(request.path)
    return request, reply_key


def check_path(path: str) -> None:
    """Only the citizen's own routes, named plainly: ``/me/...``, no host, no way out of ``/me/``."""
    if not path.startswith(CITIZEN_PREFIX) or not path.isascii() or not path.isprintable() or " " in path:
        raise PathRefused(f"only {CITIZEN_PREFIX}… paths are relayed")
    lowered = path.lower()
    if any(marker in lowered for marker in _SMUGGLING):
        raise PathRefused("encoded slashes, backslashes, dots and fragments are not relayed")
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        raise PathRefused("a path, not a URL")
    if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
        raise PathRefused("dot segments are not relayed")


async def relay(app: FastAPI, request: CourierRequest) -> CourierResponse:
    """Call this very app in-process as the citizen, with the token the citizen's device sealed."""
    headers = {
        "Authorization": f"Bearer {request.token}",
        "Accept": "application/json",
        **outgoing_trace_headers(),
    }  # the inner request logs under the same request id
    if request.idempotency_key is not None:
        headers["Idempotency-Key"] = request.idempotency_key
    json_body = {"json": request.body} if request.body is not None else {}
    # raise_app_exceptions=False: an unexpected error inside is a 500 in the envelope, like any other answer
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url=state_of(app, ServiceState).settings.public_url
    ) as client:
        answer = await client.request(request.method, request.path, headers=headers, **json_body)
    content_type = answer.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    return CourierResponse(
        status=answer.status_code, content_type=content_type, body=_json_or_text(answer) if is_json else answer.text
    )


def _json_or_text(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:  # an empty or broken body labelled JSON: pass on what was said
        return answer.text


class Envelope(BaseModel):
    envelope: str = Field(min_length=1, max_length=MAX_ENVELOPE_CHARS, description="A compact JWE (courier+jwe).")


@answers(*SERVICE_CALLER_PROBLEMS)
async def courier_caller(request: Request, credentials: Credentials) -> ServiceCaller:
    """A service holding ``<this service>:courier`` (the permission is named after the app it guards)."""
    permission = f"{state_of(request.app, ServiceState).settings.service_name}:courier"
    return await RequirePermission(permission)(request, credentials)


@functools.cache
def courier_router() -> APIRouter:
    """One router, shared by every app that relays (its replay memory is each app's state)."""
    router = APIRouter(tags=["courier"])

    @router.post(
        COURIER_PATH,
        response_model=Envelope,
        responses=problem_responses(
            *SERVICE_CALLER_PROBLEMS, EnvelopeRefused, CourierPathRefused, EnvelopeReplayed, ReplayMemoryUnavailable
        ),
        summary="Relay a citizen's sealed request to their own /me routes; the answer comes back sealed",
    )
    async def courier(
        body: Envelope, request: Request, caller: Annotated[ServiceCaller, Depends(courier_caller)]
    ) -> JSONResponse:
        now = time.time()
        service = state_of(request.app, ServiceState)
        try:
            inner, reply_key = courier_request(unseal(body.envelope, service.encryption_key), now=now)
        except InvalidEnvelope as error:
            raise EnvelopeRefused(error) from error
        except PathRefused as error:
            raise CourierPathRefused(error) from error
        if not await service.seen_envelopes.first_time(reply_key, now=now):
            raise EnvelopeReplayed()
        note_opened(request.scope, inner.method, inner.path)
        answer = await relay(request.app, inner)
        sealed = seal({"status": answer.status, "content_type": answer.content_type, "body": answer.body}, reply_key)
        # Returned as a response object: the answer may exceed the inbound size limit, and what the
        # sealed answer says is for the citizen's device only, so nothing may cache it on the way.
        return JSONResponse({"envelope": sealed}, headers={"Cache-Control": "no-store"})

    return router
