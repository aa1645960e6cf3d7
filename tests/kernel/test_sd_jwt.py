"""The ID card's SD-JWT: what a verifier learns, and every way a presentation must be refused.

Forged presentations are built here with joserfc directly, not with ``kernel.sd_jwt``, so a
check cannot pass merely because the same code made and checked the thing.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from kernel.sd_jwt import (
    DIGEST_BLOCK,
    SdJwtError,
    digest_of,
    issue_sd_jwt,
    present,
    verify_presentation,
)
from tests.fixtures import narrowing

ISSUER = "https://identity.citygate.example"
VERIFIER = "https://bar.example"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_750_000_000
VCT = "https://citygate.example/credentials/id-card"
CARD = {
    "given_name": "Mei",
    "family_name": "Xiaoqing-Lamberton",
    "birthdate": "1994-07-21",
    "resident_of": "Guangzhou",
    "age_over_18": True,
    "nationality": "CN",
}
PRIVATE_VALUES = ("Mei", "Xiaoqing-Lamberton", "1994-07-21")


def _key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


@pytest.fixture(scope="module")
def issuer_key() -> ECKey:
    return _key()


@pytest.fixture(scope="module")
def holder_key() -> ECKey:
    return _key()


@pytest.fixture(scope="module")
def issuer_keys(issuer_key: ECKey) -> KeySet:
    return KeySet([ECKey.import_key(issuer_key.as_dict(private=False))])


def _issue(issuer_key: ECKey, holder_key: ECKey, **overrides) -> str:
    arguments = {
        "issuer": ISSUER,
        "issuer_key": issuer_key,
        "holder_public_jwk": holder_key.as_dict(private=False),
        "claims": CARD,
        "disclosable": set(CARD),
        "vct": VCT,
        "ttl_seconds": 86_400,
        "now": NOW,
    }
    return issue_sd_jwt(**{**arguments, **overrides})


def _present(sd_jwt: str, holder_key: ECKey, **overrides) -> str:
    arguments = {
        "disclose": {"age_over_18", "resident_of"},
        "holder_key": holder_key,
        "audience": VERIFIER,
        "nonce": NONCE,
        "now": NOW + 60,
    }
    return present(sd_jwt, **{**arguments, **overrides})


def _verify(presentation: str, issuer_keys: KeySet, **overrides) -> dict:
    arguments = {
        "issuer_keys": issuer_keys,
        "expected_issuer": ISSUER,
        "audience": VERIFIER,
        "nonce": NONCE,
        "now": NOW + 90,
    }
    return verify_presentation(presentation, **{**arguments, **overrides})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _bind(presented: str, key: ECKey, *, aud: str = VERIFIER, nonce: str = NONCE, iat: int = NOW + 60) -> str:
    """A KB-JWT made independently of the module, over ``presented`` (which ends in '~')."""
    sd_hash = _b64(hashlib.sha256(presented.encode("ascii")).digest())
    payload = json.dumps({"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": sd_hash}).encode()
    return presented + jws.serialize_compact({"alg": "ES256", "typ": "kb+jwt"}, payload, key, algorithms=["ES256"])


def _parts(presentation: str) -> tuple[str, list[str]]:
    issuer_jwt, *disclosures, _ = presentation.split("~")
    return issuer_jwt, disclosures


def _decoded(disclosure: str) -> list:
    return json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))


def _payload(issuer_jwt: str) -> dict:
    return json.loads(jws.extract_compact(issuer_jwt.encode()).payload)


def test_digest_matches_the_rfc_example() -> None:
    disclosure = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert _decoded(disclosure) == ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
    assert digest_of(disclosure) == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


def test_issued_credential_has_the_rfc_9901_shape(issuer_key: ECKey, holder_key: ECKey) -> None:
    sd_jwt = _issue(issuer_key, holder_key)
    assert sd_jwt.endswith("~")
    issuer_jwt, disclosures = _parts(sd_jwt)
    header = jws.extract_compact(issuer_jwt.encode()).headers()
    assert header == {"alg": "ES256", "typ": "dc+sd-jwt", "kid": issuer_key.kid}
    payload = _payload(issuer_jwt)
    assert payload["iss"] == ISSUER and payload["vct"] == VCT
    assert payload["iat"] == NOW and payload["exp"] == NOW + 86_400
    assert payload["cnf"] == {"jwk": {k: holder_key.as_dict(private=False)[k] for k in ("kty", "crv", "x", "y")}}
    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"])
    assert not set(CARD) & set(payload), "no disclosable claim in clear"
    # Every disclosure is referenced; decoys pad the count so it says nothing about the claims.
    assert {digest_of(d) for d in disclosures} < set(payload["_sd"])
    assert len(payload["_sd"]) % DIGEST_BLOCK == 0 and len(payload["_sd"]) > len(CARD)
    salts = [_decoded(d)[0] for d in disclosures]
    assert len(set(salts)) == len(CARD)
    assert all(len(base64.urlsafe_b64decode(s + "==")) == 16 for s in salts)
    assert {_decoded(d)[1]: _decoded(d)[2] for d in disclosures} == CARD


def test_clear_claims_stay_clear(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    sd_jwt = _issue(issuer_key, holder_key, disclosable={"birthdate", "given_name", "family_name"})
    payload = _payload(_parts(sd_jwt)[0])
    assert payload["resident_of"] == "Guangzhou" and "birthdate" not in payload
    claims = _verify(_present(sd_jwt, holder_key, disclose=set()), issuer_keys)
    assert {"resident_of", "age_over_18", "nationality"} <= set(claims)
    assert not {"birthdate", "given_name", "family_name"} & set(claims)


def test_verifier_learns_age_and_residence_and_nothing_else(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet
) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    claims = _verify(presentation, issuer_keys)
    assert claims["age_over_18"] is True and claims["resident_of"] == "Guangzhou"
    assert set(claims) == {"iss", "iat", "exp", "vct", "cnf", "age_over_18", "resident_of"}
    for value in PRIVATE_VALUES:
        assert value not in presentation
        assert _b64(value.encode()) not in presentation
    shown = {_decoded(d)[1] for d in _parts(presentation)[1]}
    assert shown == {"age_over_18", "resident_of"}
    kb_header = jws.extract_compact(presentation.split("~")[-1].encode()).headers()
    assert kb_header == {"alg": "ES256", "typ": "kb+jwt"}


def test_disclosing_everything_round_trips(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key, disclose=set(CARD))
    claims = _verify(presentation, issuer_keys)
    assert {name: claims[name] for name in CARD} == CARD
    assert "_sd" not in claims and "_sd_alg" not in claims


def test_holder_cannot_disclose_a_claim_the_card_lacks(issuer_key: ECKey, holder_key: ECKey) -> None:
    with pytest.raises(SdJwtError, match="no claims"):
        _present(_issue(issuer_key, holder_key), holder_key, disclose={"email"})


def test_holder_cannot_present_with_someone_elses_key(issuer_key: ECKey, holder_key: ECKey) -> None:
    with pytest.raises(SdJwtError, match="not bound to this holder key"):
        _present(_issue(issuer_key, holder_key), _key())


def test_presentation_without_key_binding_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    without_kb = presentation[: presentation.rindex("~") + 1]
    with pytest.raises(SdJwtError, match="no key binding JWT"):
        _verify(without_kb, issuer_keys)


def test_key_binding_signed_by_another_key_is_refused(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet
) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    forged = _bind(presentation[: presentation.rindex("~") + 1], _key())
    with pytest.raises(SdJwtError, match="not signed by the holder key"):
        _verify(forged, issuer_keys)


def test_independently_made_key_binding_is_accepted(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    """The control for the forgeries below: ``_bind`` with the right inputs makes a valid KB-JWT."""
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    rebound = _bind(presentation[: presentation.rindex("~") + 1], holder_key)
    assert _verify(rebound, issuer_keys)["resident_of"] == "Guangzhou"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nonce": "another-request"}, "nonce does not match"),
        ({"audience": "https://evil.example"}, "audience"),
        ({"now": NOW + 60 + 301}, "more than 300s"),
        ({"now": NOW + 60 - 3600}, "in the future"),
    ],
    ids=["wrong-nonce", "wrong-audience", "stale-kb", "kb-from-the-future"],
)
def test_key_binding_for_another_request_is_refused(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet, overrides: dict, message: str
) -> None:
    presentation = _present(_issue(issuer_key, holder_key, now=NOW - 7200), holder_key)
    with pytest.raises(SdJwtError, match=message):
        _verify(presentation, issuer_keys, **overrides)


def test_kb_age_limit_is_configurable(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    with pytest.raises(SdJwtError, match="more than 10s"):
        _verify(presentation, issuer_keys, max_kb_age_seconds=10)


def test_tampered_disclosure_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    sd_jwt = _issue(issuer_key, holder_key, claims={**CARD, "age_over_18": False})
    presentation = _present(sd_jwt, holder_key)
    issuer_jwt, disclosures = _parts(presentation)
    tampered = []
    for disclosure in disclosures:
        salt, name, _ = _decoded(disclosure)
        tampered.append(_b64(json.dumps([salt, name, True]).encode()) if name == "age_over_18" else disclosure)
    forged = _bind("~".join([issuer_jwt, *tampered, ""]), holder_key)
    with pytest.raises(SdJwtError, match="not referenced"):
        _verify(forged, issuer_keys)


def test_disclosure_from_another_credential_is_refused(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet
) -> None:
    mine = _present(_issue(issuer_key, holder_key, claims={**CARD, "age_over_18": False}), holder_key)
    other = _issue(issuer_key, holder_key)  # a genuine card, e.g. someone else's, whose disclosure is borrowed
    borrowed = next(d for d in _parts(other)[1] if _decoded(d)[1] == "age_over_18")
    issuer_jwt, disclosures = _parts(mine)
    mixed = [d for d in disclosures if _decoded(d)[1] != "age_over_18"] + [borrowed]
    forged = _bind("~".join([issuer_jwt, *mixed, ""]), holder_key)
    with pytest.raises(SdJwtError, match="not referenced"):
        _verify(forged, issuer_keys)


def test_duplicated_disclosure_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    issuer_jwt, disclosures = _parts(_present(_issue(issuer_key, holder_key), holder_key))
    forged = _bind("~".join([issuer_jwt, *disclosures, disclosures[0], ""]), holder_key)
    with pytest.raises(SdJwtError, match="more than once"):
        _verify(forged, issuer_keys)


def test_disclosure_added_after_key_binding_is_refused(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet
) -> None:
    """Someone who intercepts a presentation cannot add disclosures: sd_hash covers them."""
    sd_jwt = _issue(issuer_key, holder_key)
    presentation = _present(sd_jwt, holder_key)
    extra = next(d for d in _parts(sd_jwt)[1] if _decoded(d)[1] == "nationality")
    cut = presentation.rindex("~") + 1
    forged = presentation[:cut] + extra + "~" + presentation[cut:]
    with pytest.raises(SdJwtError, match="sd_hash"):
        _verify(forged, issuer_keys)


def test_expired_credential_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    sd_jwt = _issue(issuer_key, holder_key, ttl_seconds=3600)
    presentation = _present(sd_jwt, holder_key, now=NOW + 7200)
    with pytest.raises(SdJwtError, match="expired"):
        _verify(presentation, issuer_keys, now=NOW + 7200)


def test_credential_from_another_issuer_key_is_refused(holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(_key(), holder_key), holder_key)
    with pytest.raises(SdJwtError, match="not one of the issuer's keys"):
        _verify(presentation, issuer_keys)


def test_other_key_claiming_the_issuers_kid_is_refused(
    issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet
) -> None:
    impostor = ECKey.generate_key("P-256", private=True, parameters={"kid": narrowing.present(issuer_key.kid)})
    presentation = _present(_issue(impostor, holder_key), holder_key)
    with pytest.raises(SdJwtError, match="signature does not verify"):
        _verify(presentation, issuer_keys)


def test_wrong_issuer_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    with pytest.raises(SdJwtError, match="not the expected"):
        _verify(presentation, issuer_keys, expected_issuer="https://other.example")


def test_alg_none_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    sd_jwt = _issue(issuer_key, holder_key)
    issuer_jwt, disclosures = _parts(sd_jwt)
    header = _b64(json.dumps({"alg": "none", "typ": "dc+sd-jwt", "kid": issuer_key.kid}).encode())
    unsigned = f"{header}.{issuer_jwt.split('.')[1]}."
    forged = _bind("~".join([unsigned, *disclosures[:2], ""]), holder_key)
    with pytest.raises(SdJwtError, match="algorithm 'none' is not accepted"):
        _verify(forged, issuer_keys)


def test_key_binding_with_alg_none_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    presentation = _present(_issue(issuer_key, holder_key), holder_key)
    presented = presentation[: presentation.rindex("~") + 1]
    kb_payload = json.loads(jws.extract_compact(presentation.split("~")[-1].encode()).payload)
    header = _b64(json.dumps({"alg": "none", "typ": "kb+jwt"}).encode())
    forged = presented + f"{header}.{_b64(json.dumps(kb_payload).encode())}."
    with pytest.raises(SdJwtError, match="key binding JWT: algorithm 'none'"):
        _verify(forged, issuer_keys)


def test_wrong_typ_is_refused(issuer_key: ECKey, holder_key: ECKey, issuer_keys: KeySet) -> None:
    issuer_jwt, _ = _parts(_issue(issuer_key, holder_key))
    payload = jws.extract_compact(issuer_jwt.encode()).payload
    as_plain_jwt = jws.serialize_compact(
        {"alg": "ES256", "typ": "JWT", "kid": issuer_key.kid}, payload, issuer_key, algorithms=["ES256"]
    )
    forged = _bind(f"{as_plain_jwt}~", holder_key)
    with pytest.raises(SdJwtError, match="typ 'JWT'"):
        _verify(forged, issuer_keys)


def test_issuer_refuses_reserved_or_unknown_disclosable_claims(issuer_key: ECKey, holder_key: ECKey) -> None:
    with pytest.raises(SdJwtError, match="may not set"):
        _issue(issuer_key, holder_key, claims={**CARD, "iss": "https://evil.example"})
    with pytest.raises(SdJwtError, match="not among the claims"):
        _issue(issuer_key, holder_key, disclosable={"email"})


def test_private_holder_key_material_never_enters_the_credential(issuer_key: ECKey, holder_key: ECKey) -> None:
    sd_jwt = _issue(issuer_key, holder_key, holder_public_jwk=holder_key.as_dict(private=True))
    assert "d" not in _payload(_parts(sd_jwt)[0])["cnf"]["jwk"]
