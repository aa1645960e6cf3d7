"""Each service's own ES256 signing key, created at first start in its data directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from joserfc.jwk import ECKey, KeySet

SIGNING_ALGORITHM = "ES256"
KEY_FILE = "signing-key.pem"


def load_or_create_signing_key(keys_dir: Path) -> ECKey:
    """Load the key, or create it exactly once even if two processes start together.

    The file is written under a temporary name and linked into place, so a reader never
    sees half a key and the loser of a race adopts the winner's key.
    """
    path = keys_dir / KEY_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ECKey.generate_key("P-256", private=True)
        temporary = keys_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.as_pem(private=True))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink()
    key = ECKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key


def public_jwks(*keys: ECKey) -> dict:
    """The JWKS document for ``keys``: public parts only, each with kid, use and alg."""
    return KeySet(list(keys)).as_dict(private=False, use="sig", alg=SIGNING_ALGORITHM)
