"""The blind courier: a citizen's device seals a request to a department's published encryption key,
the gateway relays the envelope with its own service token, the department answers the citizen as the
citizen's own token allows, sealed to a one-time key only the device holds."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi import Header
from joserfc import jwe
from joserfc.jwk import ECKey, OctKey

from kernel.courier import (
    COURIER_PATH,
    ENVELOPE_TYPE,
    MAX_ENVELOPE_CHARS,
    InvalidEnvelope,
    PathRefused,
    check_path,
    courier_request,
    encryption_key_of,
    open_response,
    seal,
    seal_request,
    unseal,
)
from kernel.envelope_replays import MAX_ENVELOPE_AGE, SeenEnvelopes
from kernel.keys import SIGNING_ALGORITHM, service_jwks
from services.fines.demo import CAR_OWNER, DEFAULTER_PLATE
from tests.fixtures.appointments import marriage_slot
from tests.fixtures.courier import gateway, published_jwks, relay
from tests.fixtures.fines import DEMO_PLATE, fine_ids
from tests.fixtures.logins import app_tokens
from tests.fixtures.matrix import BOTH_BACKENDS, BOTH_REGIMES
from tests.fixtures.problems import assert_problem

pytestmark = [BOTH_REGIMES, BOTH_BACKENDS, pytest.mark.started("gateway", "appointments", "fines")]

# --- the primitives, without HTTP -----------------------------------------------------------------


@pytest.fixture
def department() -> tuple[ECKey, dict]:
    """A department's encryption key and the JWKS it publishes (with its signing key beside it)."""
    signing = ECKey.generate_key("P-256", private=True)
    signing.ensure_kid()
    encryption = ECKey.generate_key("P-256", private=True)
    encryption.ensure_kid()
    return encryption, service_jwks(signing, encryption)


def sealed(department, **overrides) -> tuple[str, ECKey]:
    _, jwks = department
    request = {"method": "GET", "path": "/me/fines", "body": None, "token": "citizen-token"} | overrides
    return seal_request(jwks, **request)


def test_a_request_and_its_answer_make_the_round_trip(department):
    key, _jwks = department
    envelope, reply_key = sealed(
        department, method="POST", path="/me/bookings", body={"slot_id": 7}, idempotency_key="k-1"
    )
    assert reply_key.is_private
    header = json.loads(base64.urlsafe_b64decode(envelope.split(".")[0] + "=="))
    assert header | {"epk": None} == {
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
        "typ": ENVELOPE_TYPE,
        "kid": key.kid,
        "epk": None,
    }

    request, reply_public = courier_request(unseal(envelope, key), now=time.time())
    assert (request.method, request.path, request.body, request.token, request.idempotency_key) == (
        "POST",
        "/me/bookings",
        {"slot_id": 7},
        "citizen-token",
        "k-1",
    )
    assert not reply_public.is_private and reply_public.thumbprint() == reply_key.thumbprint()

    answer = seal({"status": 201, "content_type": "application/json", "body": {"id": "b-1"}}, reply_public)
    opened = open_response(answer, reply_key)
    assert (opened.status, opened.content_type, opened.body) == (201, "application/json", {"id": "b-1"})
    with pytest.raises(InvalidEnvelope):
        open_response(answer, ECKey.generate_key("P-256", private=True))  # only the device's key opens it


async def test_a_reply_key_is_accepted_once_while_its_envelope_is_fresh():
    seen, reply_key, now = SeenEnvelopes(), ECKey.generate_key("P-256", private=True), 1_000_000.0
    assert await seen.first_time(reply_key, now=now)
    assert not await seen.first_time(reply_key, now=now + MAX_ENVELOPE_AGE)  # a replay within the window
    assert await seen.first_time(ECKey.generate_key("P-256", private=True), now=now)
    # Forgotten once no envelope carrying it could be accepted any more (courier_request refuses it by age).
    assert await seen.first_time(reply_key, now=now + 10 * MAX_ENVELOPE_AGE)


def test_the_device_picks_the_encryption_key_never_the_signing_key(department):
    key, jwks = department
    assert encryption_key_of(jwks).thumbprint() == key.thumbprint()
    with pytest.raises(ValueError, match="no ECDH-ES"):
        encryption_key_of({"keys": [k for k in jwks["keys"] if k["use"] == "sig"]})
    assert [k["alg"] for k in jwks["keys"] if k["use"] == "sig"] == [SIGNING_ALGORITHM]


def test_a_tampered_envelope_or_one_for_another_key_does_not_open(department):
    key, _ = department
    envelope, _ = sealed(department)
    parts = envelope.split(".")
    ciphertext = parts[3]
    flipped = "A" if ciphertext[5] != "A" else "B"
    parts[3] = ciphertext[:5] + flipped + ciphertext[6:]
    with pytest.raises(InvalidEnvelope):
        unseal(".".join(parts), key)
    with pytest.raises(InvalidEnvelope):
        unseal(envelope, ECKey.generate_key("P-256", private=True))
    for garbage in ("", "a.b.c", "not-an-envelope", envelope + ".x"):
        with pytest.raises(InvalidEnvelope):
            unseal(garbage, key)


def encrypt_with(header: dict, key, message: dict | None = None) -> str:
    plaintext = json.dumps(message or {"method": "GET"}).encode()
    return jwe.encrypt_compact(header, plaintext, key, algorithms=[header["alg"], header["enc"]])


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "dir", "enc": "A256GCM", "typ": ENVELOPE_TYPE},  # a shared key: no one holds one
        {"alg": "ECDH-ES", "enc": "A256GCM", "typ": ENVELOPE_TYPE},  # not the agreed key agreement
        {"alg": "ECDH-ES+A128KW", "enc": "A256GCM", "typ": ENVELOPE_TYPE},
        {"alg": "ECDH-ES+A256KW", "enc": "A128GCM", "typ": ENVELOPE_TYPE},
        {"alg": "ECDH-ES+A256KW", "enc": "A256CBC-HS512", "typ": ENVELOPE_TYPE},
        {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"},  # untyped: could be some other JWE
        {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "typ": "JWE"},
        {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "typ": ENVELOPE_TYPE, "zip": "DEF"},
    ],
)
def test_only_the_agreed_algorithms_and_type_are_opened(department, header):
    key, _ = department
    recipient = OctKey.generate_key(256) if header["alg"] == "dir" else ECKey.import_key(key.as_dict(private=False))
    try:
        envelope = encrypt_with(header, recipient)
    except Exception:  # the library will not even make it (e.g. zip unregistered): build the header by hand
        envelope = _with_header(encrypt_with({k: v for k, v in header.items() if k != "zip"}, recipient), header)
    with pytest.raises(InvalidEnvelope):
        unseal(envelope, key)


def _with_header(envelope: str, header: dict) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return ".".join([encoded, *envelope.split(".")[1:]])


def request_with(department, **changes) -> dict:
    key, _ = department
    envelope, _reply_key = sealed(department)
    return unseal(envelope, key) | changes


@pytest.mark.parametrize(
    "reply_key",
    [
        ECKey.generate_key("P-256", private=True).as_dict(private=True),  # the private part must stay on the device
        ECKey.generate_key("P-384", private=True).as_dict(private=False),
        OctKey.generate_key(256).as_dict(private=True),
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},  # not a point on the curve
        "not a key",
        None,
    ],
)
def test_a_reply_key_must_be_a_public_p256_key(department, reply_key):
    with pytest.raises(InvalidEnvelope):
        courier_request(request_with(department, reply_key=reply_key), now=time.time())


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "PUT"},
        {"method": "get"},
        {"token": ""},
        {"token": None},
        {"path": 7},
        {"idempotency_key": ""},
        {"headers": {"X-Forwarded-For": "1.2.3.4"}},  # nothing rides along
        {"sent_at": None},
        {"sent_at": "now"},
        {"sent_at": 1.5},
        {"sent_at": int(time.time()) - MAX_ENVELOPE_AGE - 60},  # too old: the gateway kept it
        {"sent_at": int(time.time()) + 3600},  # from the future
    ],
)
def test_a_malformed_sealed_request_is_refused(department, changes):
    with pytest.raises(InvalidEnvelope):
        courier_request(request_with(department, **changes), now=time.time())


@pytest.mark.parametrize(
    "path",
    [
        "/citizens/x/fines",
        "/courier",
        "/me",
        "me/fines",
        "/me/../citizens/x/fines",
        "/me/%2e%2e/citizens/x",
        "/me/fines%2F1",
        "/me/fines%2f..%2fx",
        "/me\\..\\fines",
        "/me//fines",
        "/me/./fines",
        "http://evil/me/fines",
        "//evil/me/fines",
        "/me/fines#x",
        "/me/fines 1",
        "/me/fïnes",
        "/me/fines\n",
    ],
)
def test_only_plain_me_paths_are_relayed(path):
    with pytest.raises(PathRefused):
        check_path(path)


@pytest.mark.parametrize(
    "path", ["/me/fines", "/me/fines/12", "/me/bookings/3f2a-1/confirmations", "/me/bookings?status=pending"]
)
def test_the_citizens_own_paths_are_relayed(path):
    check_path(path)


# --- over HTTP, through the mesh --------------------------------------------------------------------


async def test_the_device_reads_its_fines_through_a_courier_that_cannot(mesh):
    token = (await app_tokens(mesh, CAR_OWNER, "fines"))["fines"]
    jwks = await published_jwks(mesh, "fines")
    envelope, reply_key = seal_request(jwks, method="GET", path="/me/fines", body=None, token=token)

    outer = await relay(mesh, "fines", envelope)
    assert outer.status_code == 200, outer.text
    assert outer.headers["cache-control"] == "no-store"
    answer = open_response(outer.json()["envelope"], reply_key)
    assert answer.status == 200 and answer.content_type.startswith("application/json")
    assert [fine["id"] for fine in answer.body] == fine_ids(mesh, DEMO_PLATE)

    # what the gateway saw: an opaque envelope, none of the answer's contents, nor the citizen's token
    for secret in (DEMO_PLATE, json.dumps(DEMO_PLATE), "Running a red light", "20000", token):
        assert secret not in outer.text and secret not in envelope
    with pytest.raises(InvalidEnvelope):  # and the gateway's own key opens neither direction
        unseal(outer.json()["envelope"], mesh.apps["gateway"].state.service.encryption_key)


async def test_an_envelope_relayed_again_is_refused_before_it_runs(mesh):
    token = (await app_tokens(mesh, CAR_OWNER, "fines"))["fines"]
    envelope, _reply_key = seal_request(
        await published_jwks(mesh, "fines"), method="GET", path="/me/fines", body=None, token=token
    )
    assert (await relay(mesh, "fines", envelope)).status_code == 200
    assert_problem(await relay(mesh, "fines", envelope), 409, "envelope-replayed")
    fresh, fresh_key = seal_request(
        await published_jwks(mesh, "fines"), method="GET", path="/me/fines", body=None, token=token
    )
    again = await relay(mesh, "fines", fresh)  # sealing anew is how a device asks again
    assert open_response(again.json()["envelope"], fresh_key).status == 200


async def test_the_departments_answer_travels_sealed_whatever_it_is(mesh):
    tokens = await app_tokens(mesh, CAR_OWNER, "fines", "appointments")
    jwks = await published_jwks(mesh, "fines")
    someone_elses = fine_ids(mesh, DEFAULTER_PLATE)[0]
    cases = [
        (f"/me/fines/{someone_elses}", tokens["fines"], 404, "fine-not-found"),
        ("/me/fines", tokens["appointments"], 401, "invalid-token"),  # the token is for another department
        ("/me/fines", "forged", 401, "invalid-token"),
        ("/me/nothing-here", tokens["fines"], 404, None),
    ]
    for path, token, status, kind in cases:
        envelope, reply_key = seal_request(jwks, method="GET", path=path, body=None, token=token)
        outer = await relay(mesh, "fines", envelope)
        assert outer.status_code == 200, (path, outer.text)  # the gateway learns only that it was answered
        answer = open_response(outer.json()["envelope"], reply_key)
        assert answer.status == status and answer.content_type.startswith("application/problem+json"), answer
        if kind:
            assert answer.body["type"] == f"urn:citygate:problem:{kind}"


async def test_only_the_gateway_with_the_courier_permission_may_relay(mesh):
    token = (await app_tokens(mesh, CAR_OWNER, "fines"))["fines"]
    envelope, _ = seal_request(
        await published_jwks(mesh, "fines"), method="GET", path="/me/fines", body=None, token=token
    )
    assert_problem(await relay(mesh, "fines", envelope, client="appointments"), 403, "forbidden-caller")
    assert_problem(await relay(mesh, "fines", envelope, scope="fines:read"), 403, "forbidden-caller")
    async with mesh.client("fines") as fines:
        assert_problem(await fines.post(COURIER_PATH, json={"envelope": envelope}), 401, "unauthenticated")
        # nor is a citizen's token a courier's
        as_citizen = await fines.post(
            COURIER_PATH, json={"envelope": envelope}, headers={"Authorization": f"Bearer {token}"}
        )
        assert_problem(as_citizen, 403, "forbidden-caller")


async def test_refused_envelopes_and_paths_are_outer_errors(mesh):
    jwks = await published_jwks(mesh, "fines")
    for path in ("/citizens/x/fines", "/me/../fines/1", "/courier", "http://fines/me/fines"):
        envelope, _ = seal_request(jwks, method="GET", path=path, body=None, token="t")
        assert_problem(await relay(mesh, "fines", envelope), 400, "courier-path-refused")

    for_appointments, _ = seal_request(
        await published_jwks(mesh, "appointments"), method="GET", path="/me/fines", body=None, token="t"
    )
    assert_problem(await relay(mesh, "fines", for_appointments), 400, "invalid-envelope")
    assert_problem(await relay(mesh, "fines", "x.y.z.w.v"), 400, "invalid-envelope")
    key = encryption_key_of(jwks)
    private_reply = seal(
        {
            "method": "GET",
            "path": "/me/fines",
            "body": None,
            "token": "t",
            "idempotency_key": None,
            "reply_key": ECKey.generate_key("P-256", private=True).as_dict(private=True),
            "sent_at": int(time.time()),
        },
        key,
    )
    assert_problem(await relay(mesh, "fines", private_reply), 400, "invalid-envelope")
    async with mesh.client("fines") as fines:
        too_big = await fines.post(
            COURIER_PATH, json={"envelope": "x" * (MAX_ENVELOPE_CHARS + 1)}, headers=gateway(mesh, "fines")
        )
    assert too_big.status_code in (413, 422), too_big.text


async def test_a_booking_is_made_through_the_courier_with_its_idempotency_key(mesh):
    token = (await app_tokens(mesh, CAR_OWNER, "appointments"))["appointments"]
    jwks = await published_jwks(mesh, "appointments")
    app = mesh.apps["appointments"]

    async def headers_seen(idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> dict:
        return {"idempotency_key": idempotency_key}

    # a route that shows what reached it: the key the device sealed, as the department's routes read it
    app.add_api_route("/me/test/headers", headers_seen, methods=["POST"])
    envelope, reply_key = seal_request(
        jwks, method="POST", path="/me/test/headers", body={}, token=token, idempotency_key="booking-1"
    )
    seen = open_response((await relay(mesh, "appointments", envelope)).json()["envelope"], reply_key)
    assert seen.body == {"idempotency_key": "booking-1"}

    slot = await marriage_slot(mesh)
    body = {"slot_id": slot["id"], "type": "marriage"}
    envelope, reply_key = seal_request(
        jwks, method="POST", path="/me/bookings", body=body, token=token, idempotency_key="booking-1"
    )
    outer = await relay(mesh, "appointments", envelope)
    assert outer.status_code == 200, outer.text
    booked = open_response(outer.json()["envelope"], reply_key)
    assert booked.status == 201, booked
    assert booked.body["invitation_code"] not in outer.text  # the code for the partner: the device's alone

    # the gateway replaying the same envelope: refused before it reaches the booking route
    assert_problem(await relay(mesh, "appointments", envelope), 409, "envelope-replayed")
    # the device asking again under the same Idempotency-Key books nothing more (one open booking per type)
    envelope, reply_key = seal_request(
        jwks, method="POST", path="/me/bookings", body=body, token=token, idempotency_key="booking-1"
    )
    again = open_response((await relay(mesh, "appointments", envelope)).json()["envelope"], reply_key)
    assert again.status == 409 and again.body["type"] == "urn:citygate:problem:already-booked"

    listed, reply_key = seal_request(jwks, method="GET", path="/me/bookings", body=None, token=token)
    mine = open_response((await relay(mesh, "appointments", listed)).json()["envelope"], reply_key)
    assert [b["id"] for b in mine.body] == [booked.body["id"]]
