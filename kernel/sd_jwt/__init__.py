"""SD-JWT (RFC 9901) with holder key binding: the format of the selectively disclosable ID card.

The issuer signs digests of the claims, not the claims; the holder hands a verifier only the
disclosures (salt, name, value) it chooses, and proves with a Key Binding JWT (KB-JWT) signed by
the key named in ``cnf`` that it is the holder and that this presentation was made for this
verifier (``aud``), this request (``nonce``) and just now (``iat``). So a verifier can check
"over 18, lives in Guangzhou" without learning a name or a birthdate, and cannot replay what it
was shown to someone else.

Written on joserfc, the project's JOSE stack, rather than on the ``sd-jwt`` reference
implementation: that one brings a second JOSE library (jwcrypto) and leaves checks a verifier
needs (expiry, KB-JWT age, issuer ``typ``, refusing unreferenced disclosures) to the caller.
Only what the ID card uses is supported: disclosable top-level claims, ``sha-256``, ES256, and
presentations that always carry a KB-JWT. Anything else is refused, never silently ignored.

The package by role: ``encoding`` (the format itself), ``issuer``, ``holder`` and ``verifier``.
"""

from kernel.sd_jwt.encoding import DIGEST_ALGORITHM, KB_JWT_TYPE, SD_JWT_TYPE, SdJwtError, digest_of
from kernel.sd_jwt.holder import present
from kernel.sd_jwt.issuer import DIGEST_BLOCK, issue_sd_jwt
from kernel.sd_jwt.verifier import verify_presentation

__all__ = [
    "DIGEST_ALGORITHM",
    "DIGEST_BLOCK",
    "KB_JWT_TYPE",
    "SD_JWT_TYPE",
    "SdJwtError",
    "digest_of",
    "issue_sd_jwt",
    "present",
    "verify_presentation",
]
