"""The holder's side: present a credential to one verifier, with only the disclosures chosen and a
Key Binding JWT that ties the presentation to that verifier, its nonce and this moment."""

from __future__ import annotations

from joserfc import jws
from joserfc.jwk import ECKey

from kernel.keys import SIGNING_ALGORITHM
from kernel.sd_jwt.encoding import (
    KB_JWT_TYPE,
    RESERVED_CLAIMS,
    SEPARATOR,
    SdJwtError,
    compact_json,
    decode_disclosure,
    digest_of,
    seconds_now,
    split_parts,
    thumbprint,
    unverified_payload,
)


def present(
    sd_jwt: str,
    *,
    disclose: set[str],
    holder_key: ECKey,
    audience: str,
    nonce: str,
    now: int | None = None,
) -> str:
    """The holder's presentation to one verifier: chosen disclosures only, then a KB-JWT.

    Refuses to present a credential bound to some other key, or to disclose a claim the
    credential does not have, rather than produce something every verifier would reject.
    """
    issuer_jwt, disclosures, key_binding = split_parts(sd_jwt)
    if key_binding:
        raise SdJwtError("already a presentation: present the SD-JWT as issued")
    payload = unverified_payload(issuer_jwt)
    bound_jwk = payload.get("cnf", {}).get("jwk") if isinstance(payload.get("cnf"), dict) else None
    if not isinstance(bound_jwk, dict) or thumbprint(bound_jwk) != holder_key.thumbprint():
        raise SdJwtError("the credential is not bound to this holder key")
    names = {disclosure: decode_disclosure(disclosure)[0] for disclosure in disclosures}
    unavailable = disclose - set(names.values()) - (payload.keys() - RESERVED_CLAIMS)
    if unavailable:
        raise SdJwtError(f"the credential has no claims {sorted(unavailable)} to disclose")
    chosen = [disclosure for disclosure in disclosures if names[disclosure] in disclose]
    presented = SEPARATOR.join([issuer_jwt, *chosen, ""])
    kb_payload = {"iat": seconds_now(now), "aud": audience, "nonce": nonce, "sd_hash": digest_of(presented)}
    kb_header = {"alg": SIGNING_ALGORITHM, "typ": KB_JWT_TYPE}
    return presented + jws.serialize_compact(
        kb_header, compact_json(kb_payload), holder_key, algorithms=[SIGNING_ALGORITHM]
    )
