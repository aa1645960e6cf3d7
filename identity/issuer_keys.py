"""The provider's token-signing keys: replaced at start once old, published with the retired ones
whose tokens may still be in use (``kernel.keys`` keeps them on disk)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import ECKey

from identity.settings import Settings
from kernel.keys import KEY_FILE, public_jwks, retired_keys, rotate_signing_key, signing_key_age_seconds

# Clock leeway of verifiers (kernel.tokens) on top of the longest token lifetime.
RETIRED_KEY_GRACE_SECONDS = 60
SECONDS_PER_DAY = 86400


def rotate_an_old_signing_key(settings: Settings) -> None:
    """Before the app is built (its state loads the key): a key older than the rotation age is retired."""
    if (settings.keys_dir / KEY_FILE).exists() and (
        signing_key_age_seconds(settings.keys_dir) > settings.signing_key_rotation_days * SECONDS_PER_DAY
    ):
        rotate_signing_key(settings.keys_dir)


def published_jwks(settings: Settings, signing_key: ECKey) -> dict[str, Any]:
    """The current key and every retired key whose tokens may not have expired yet."""
    window = settings.longest_token_lifetime_seconds + RETIRED_KEY_GRACE_SECONDS
    jwks: dict[str, Any] = public_jwks(signing_key, *retired_keys(settings.keys_dir, window))
    return jwks
