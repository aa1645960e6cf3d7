"""The anti-forgery check of the stage's one state-changing form, "Reset demo".

The stage has no login, so there is no session to bind a token to. Two checks, both required:

1. **Origin**: the POST must carry ``Origin`` equal to the stage's own origin. Every browser sends it on
   a form POST, and a page elsewhere cannot forge it. This is the check that matters here: every port
   of 127.0.0.1 is one *site* and cookies ignore ports, so any page served from another port (a phone,
   a hostile local server) could plant a cookie for the stage; it still cannot send the stage's Origin.
2. **Double submit**: the form's hidden token must equal the token cookie the page was served with
   (HttpOnly, SameSite=Strict, scoped to the reset's path), so a request built without the page (curl
   with a hand-set Origin aside) is refused too.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from workshop.stage.errors import ResetRefused

RESET_PATH = "/reset"
TOKEN_COOKIE = "stage_reset_token"
TOKEN_FIELD = "token"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hand_out(response: Response, token: str) -> None:
    """The cookie half of the page's token (the form holds the other half)."""
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path=RESET_PATH)


def check(request: Request, form_token: str, own_origin: str) -> None:
    """ResetRefused unless the request comes from the stage's page with the page's token."""
    origin = request.headers.get("origin")
    if origin != own_origin:
        raise ResetRefused(
            f"A reset must come from the stage's own page ({own_origin}); this one came from {origin!r}."
        )
    cookie = request.cookies.get(TOKEN_COOKIE, "")
    if not cookie or not form_token or not hmac.compare_digest(cookie.encode(), form_token.encode()):
        raise ResetRefused("The reset form's token does not match the page's: reload the page and press it again.")
