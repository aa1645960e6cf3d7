"""Each service's own keys, created at first start in its data directory: the ES256 signing key
(its client credential and statement signatures) and a P-256 encryption key (ECDH-ES+A256KW) to
which citizens' devices seal requests the gateway relays without reading (``kernel.courier``).

Rotation of the signing key keeps retired keys beside the current one (``retired/<kid>.pem``, dated by the
file's modification time) so an issuer can keep publishing them until every token they
signed has expired.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

SIGNING_ALGORITHM = "ES256"
KEY_FILE = "signing-key.pem"
ENCRYPTION_ALGORITHM = "ECDH-ES+A256KW"
ENCRYPTION_KEY_FILE = "encryption-key.pem"
RETIRED_DIR = "retired"


def write_once(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600) with ``content`` unless it exists, safely against concurrent starts.

    Written under a temporary name and linked into place: no reader sees a partial file, and
    the loser of a race keeps the winner's content (read it back afterwards).
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            handle.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()


def _read_key(path: Path) -> ECKey:
    key = ECKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key


def load_or_create_signing_key(keys_dir: Path) -> ECKey:
    path = keys_dir / KEY_FILE
    if not path.exists():
        write_once(path, ECKey.generate_key("P-256", private=True).as_pem(private=True))
    return _read_key(path)


def load_or_create_encryption_key(keys_dir: Path) -> ECKey:
    """A separate key, never the signing key: one key for one purpose (RFC 7517 ``use``), so a
    decryption oracle can never be turned into signatures, nor the other way round."""
    path = keys_dir / ENCRYPTION_KEY_FILE
    if not path.exists():
        write_once(path, ECKey.generate_key("P-256", private=True).as_pem(private=True))
    return _read_key(path)


def rotate_signing_key(keys_dir: Path) -> ECKey:
    """Retire the current key (kept under ``retired/``) and put a new one in its place."""
    current = load_or_create_signing_key(keys_dir)
    write_once(keys_dir / RETIRED_DIR / f"{current.kid}.pem", current.as_pem(private=True))
    os.utime(keys_dir / RETIRED_DIR / f"{current.kid}.pem")  # retired now
    replacement = keys_dir / f".{KEY_FILE}.next"
    with contextlib.suppress(FileNotFoundError):
        replacement.unlink()
    write_once(replacement, ECKey.generate_key("P-256", private=True).as_pem(private=True))
    os.replace(replacement, keys_dir / KEY_FILE)
    return _read_key(keys_dir / KEY_FILE)


def signing_key_age_seconds(keys_dir: Path) -> float:
    return time.time() - (keys_dir / KEY_FILE).stat().st_mtime


def retired_keys(keys_dir: Path, retired_within_seconds: float) -> list[ECKey]:
    """Retired keys whose tokens may still be valid: retired less than ``retired_within_seconds`` ago."""
    folder = keys_dir / RETIRED_DIR
    if not folder.is_dir():
        return []
    horizon = time.time() - retired_within_seconds
    return [_read_key(path) for path in sorted(folder.glob("*.pem")) if path.stat().st_mtime > horizon]


def public_jwks(*keys: ECKey) -> dict[str, Any]:
    """The JWKS document for signing ``keys``: public parts only, each with kid, use and alg."""
    return dict(KeySet(list(keys)).as_dict(private=False, use="sig", alg=SIGNING_ALGORITHM))


def service_jwks(signing_key: ECKey, encryption_key: ECKey) -> dict[str, Any]:
    """What a service publishes: its signing key (``use: sig``) and its encryption key (``use: enc``)."""
    encryption = encryption_key.as_dict(private=False, use="enc", alg=ENCRYPTION_ALGORITHM)
    return {"keys": [*public_jwks(signing_key)["keys"], encryption]}


def signature_key_set(document: dict[str, Any]) -> KeySet:
    """The keys of a JWKS document that may verify signatures: any key marked for another use
    (a service's ``use: enc`` key) is left out, so it can never be picked to check a JWS."""
    keys = [key for key in document.get("keys", []) if isinstance(key, dict) and key.get("use", "sig") == "sig"]
    return KeySet.import_key_set({"keys": keys})
