"""The headers of a page that holds no script at all (the identity provider's login and consent
pages, the super-app's bare "logged in" page): nothing may run on it, an injected script included.

Their one style sheet is inline, so ``style-src 'unsafe-inline'`` (styles cannot run code). No
``form-action``: the login's form posts to its own origin and is then redirected to the relying
party, which browsers that apply form-action to redirects would refuse. ``frame-ancestors 'none'``
becomes the stage's origin where one is configured (kernel/framing.py rewrites it).
"""

from __future__ import annotations

SCRIPTLESS_PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


def scriptless_page_headers() -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": SCRIPTLESS_PAGE_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    }
