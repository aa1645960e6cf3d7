"""What the services that keep browser sessions (the super-app gateway, the identity provider) share.

- A session id is stored only as its SHA-256 (``session_id_digest``), so a copy of the database holds
  no live session; the id has 256 random bits, so an unsalted hash cannot be reversed by guessing.
- A presented id far longer than ours (43 characters) is not looked up at all.
- Cookie names are one per purpose and regime (both regimes run side by side on one host, and cookies
  ignore ports). Under HTTPS they carry the ``__Host-`` prefix: the browser then only accepts them with
  ``Secure``, ``Path=/`` and no ``Domain``, so no sibling domain or plain-http page can plant one.
  Over plain http (the loopback demo) not every browser keeps a ``Secure`` cookie (Chromium does on
  127.0.0.1 and localhost, others only on localhost or not at all), and a ``__Host-`` cookie without
  ``Secure`` is dropped, so there the plain name is used. Cookies do not isolate ports: another service
  on the same host still could set one, which is why state-changing requests are checked by origin too.
"""

from __future__ import annotations

import hashlib

MAX_SESSION_ID_LENGTH = 200


def session_id_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def served_over_https(url: str) -> bool:
    return url.startswith("https://")


def cookie_name(purpose: str, regime: str, *, https: bool) -> str:
    name = f"citygate_{purpose}_{regime}"
    return f"__Host-{name}" if https else name
